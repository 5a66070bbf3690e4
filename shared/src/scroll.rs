//! Scroll depth: how far down the page the reader has seen.

/// Percentage of the document seen: `(scroll_y + viewport_height) / document_height`, 0–100,
/// rounded to the nearest percent. A document no taller than the viewport is 100.
pub fn scroll_percent(scroll_y: f64, viewport_height: f64, document_height: f64) -> u8 {
    if !scroll_y.is_finite() || document_height.is_nan() || document_height <= viewport_height {
        return 100;
    }
    let seen = (scroll_y.max(0.0) + viewport_height.max(0.0)) / document_height;
    (seen.clamp(0.0, 1.0) * 100.0).round() as u8
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn depth_is_the_bottom_of_the_viewport() {
        assert_eq!(scroll_percent(0.0, 800.0, 4000.0), 20);
        assert_eq!(scroll_percent(1200.0, 800.0, 4000.0), 50);
        assert_eq!(scroll_percent(3200.0, 800.0, 4000.0), 100);
        assert_eq!(scroll_percent(0.0, 800.0, 600.0), 100);
        assert_eq!(scroll_percent(0.0, 800.0, 0.0), 100);
        assert_eq!(scroll_percent(-50.0, 800.0, 4000.0), 20);
    }

    proptest! {
        #[test]
        fn always_a_percentage(y in -1e6f64..1e6, vh in 0f64..1e4, dh in 0f64..1e6) {
            prop_assert!(scroll_percent(y, vh, dh) <= 100);
        }
    }
}
