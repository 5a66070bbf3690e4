//! A minimal JSON writer for the tracker.
//!
//! The tracker only ever *writes* JSON, and only objects of strings, integers and booleans.
//! `serde_json` would bring `core::fmt` and float formatting into the page's WebAssembly;
//! this writer is a few hundred bytes. Strings are escaped per RFC 8259, so any `&str` is
//! safe to pass.

/// Appends JSON tokens to a `String`. Commas are inserted automatically.
///
/// Invariant: calls are balanced by the caller (`begin_object`/`end_object`,
/// `begin_array`/`end_array`); the writer does not check nesting.
/// Decimals kept by [`JsonWriter::float`].
pub const FRACTION_DIGITS: u32 = 6;

#[derive(Debug, Default)]
pub struct JsonWriter {
    out: String,
    /// True right after an opening bracket or a key, where no comma may follow.
    fresh: bool,
}

impl JsonWriter {
    pub fn new() -> Self {
        Self {
            out: String::with_capacity(256),
            fresh: true,
        }
    }

    pub fn finish(self) -> String {
        self.out
    }

    fn separate(&mut self) {
        if !self.fresh {
            self.out.push(',');
        }
        self.fresh = false;
    }

    pub fn begin_object(&mut self) {
        self.separate();
        self.out.push('{');
        self.fresh = true;
    }

    pub fn end_object(&mut self) {
        self.out.push('}');
        self.fresh = false;
    }

    pub fn begin_array(&mut self) {
        self.separate();
        self.out.push('[');
        self.fresh = true;
    }

    pub fn end_array(&mut self) {
        self.out.push(']');
        self.fresh = false;
    }

    /// Writes `"key":`; the next value call writes the value.
    pub fn key(&mut self, key: &str) {
        self.separate();
        self.push_escaped(key);
        self.out.push(':');
        self.fresh = true;
    }

    pub fn string(&mut self, value: &str) {
        self.separate();
        self.push_escaped(value);
    }

    pub fn bool(&mut self, value: bool) {
        self.separate();
        self.out.push_str(if value { "true" } else { "false" });
    }

    pub fn int(&mut self, value: i64) {
        self.separate();
        if value < 0 {
            self.out.push('-');
        }
        push_digits(&mut self.out, value.unsigned_abs());
    }

    /// A number with at most [`FRACTION_DIGITS`] decimals: integral values exactly, others
    /// rounded to a millionth. Written without `core::fmt`, whose float formatting would
    /// triple the tracker's size. Non-finite values, which JSON cannot hold, become `null`.
    pub fn float(&mut self, value: f64) {
        self.separate();
        if !value.is_finite() {
            self.out.push_str("null");
            return;
        }
        let scale = 10f64.powi(FRACTION_DIGITS as i32);
        let scaled = (value.abs() * scale).round();
        if scaled >= 9.0e15 {
            // Beyond 2^53 every f64 is an integer; past u64 it needs an exponent. Written as
            // up to 16 significant digits and `e<n>`, which JSON allows.
            if value < 0.0 {
                self.out.push('-');
            }
            let (mut mantissa, mut exponent) = (value.abs(), 0u64);
            while mantissa >= 9.0e15 {
                mantissa /= 10.0;
                exponent += 1;
            }
            push_digits(&mut self.out, mantissa.round() as u64);
            if exponent > 0 {
                self.out.push('e');
                push_digits(&mut self.out, exponent);
            }
            return;
        }
        let scaled = scaled as u64;
        let unit = 10u64.pow(FRACTION_DIGITS);
        let (whole, mut fraction) = (scaled / unit, scaled % unit);
        if value < 0.0 && scaled != 0 {
            self.out.push('-');
        }
        push_digits(&mut self.out, whole);
        if fraction != 0 {
            self.out.push('.');
            let mut width = FRACTION_DIGITS;
            while fraction % 10 == 0 {
                fraction /= 10;
                width -= 1;
            }
            let mut digits = String::new();
            push_digits(&mut digits, fraction);
            for _ in digits.len()..width as usize {
                self.out.push('0');
            }
            self.out.push_str(&digits);
        }
    }

    pub fn field_str(&mut self, key: &str, value: &str) {
        self.key(key);
        self.string(value);
    }

    pub fn field_int(&mut self, key: &str, value: i64) {
        self.key(key);
        self.int(value);
    }

    pub fn field_bool(&mut self, key: &str, value: bool) {
        self.key(key);
        self.bool(value);
    }

    fn push_escaped(&mut self, s: &str) {
        self.out.push('"');
        // Bytes, not chars: only ASCII needs escaping, and runs between escapes are copied
        // whole (an ASCII byte is always a character boundary).
        let mut copied = 0;
        for (i, b) in s.bytes().enumerate() {
            let escape = match b {
                b'"' => "\\\"",
                b'\\' => "\\\\",
                b'\n' => "\\n",
                b'\r' => "\\r",
                b'\t' => "\\t",
                0..=0x1f => "",
                _ => continue,
            };
            self.out.push_str(&s[copied..i]);
            copied = i + 1;
            if escape.is_empty() {
                self.out.push_str("\\u00");
                push_hex_digit(&mut self.out, b >> 4);
                push_hex_digit(&mut self.out, b & 15);
            } else {
                self.out.push_str(escape);
            }
        }
        self.out.push_str(&s[copied..]);
        self.out.push('"');
    }
}

/// Appends one digit, 0–15, as `0`–`f`. (A `str` slice, not `String::push(char)`, whose
/// UTF-8 encoder would be code in the tracker for ASCII only.)
fn push_hex_digit(out: &mut String, d: u8) {
    const DIGITS: &str = "0123456789abcdef";
    let d = usize::from(d);
    out.push_str(&DIGITS[d..=d]);
}

/// Appends the decimal digits of `n` without `core::fmt`.
pub fn push_digits(out: &mut String, mut n: u64) {
    let mut buf = [0u8; 20];
    let mut i = buf.len();
    loop {
        i -= 1;
        buf[i] = (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    for &d in &buf[i..] {
        push_hex_digit(out, d);
    }
}

#[cfg(all(test, feature = "collector"))]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn writes_nested_objects_with_commas() {
        let mut w = JsonWriter::new();
        w.begin_object();
        w.field_int("v", 1);
        w.key("events");
        w.begin_array();
        w.begin_object();
        w.field_str("type", "pageview");
        w.field_bool("ok", true);
        w.end_object();
        w.begin_object();
        w.end_object();
        w.end_array();
        w.end_object();
        assert_eq!(
            w.finish(),
            r#"{"v":1,"events":[{"type":"pageview","ok":true},{}]}"#
        );
    }

    fn float(v: f64) -> String {
        let mut w = JsonWriter::new();
        w.float(v);
        w.finish()
    }

    #[test]
    fn floats_keep_six_decimals() {
        assert_eq!(float(9.99), "9.99");
        assert_eq!(float(-0.5), "-0.5");
        assert_eq!(float(3.0), "3");
        assert_eq!(float(0.000_001), "0.000001");
        assert_eq!(float(0.012_345_67), "0.012346");
        assert_eq!(float(-1.5e-7), "0");
        assert_eq!(float(1e20), "1000000000000000e5");
        let huge: f64 = serde_json::from_str(&float(-1.7e308)).unwrap();
        assert!((huge / -1.7e308 - 1.0).abs() < 1e-14);
        assert_eq!(float(f64::NAN), "null");
    }

    proptest! {
        #[test]
        fn floats_are_valid_json_within_half_a_millionth(v in -1e9f64..1e9) {
            let parsed: f64 = serde_json::from_str(&float(v)).unwrap();
            prop_assert!((parsed - v).abs() <= 0.5e-6 + v.abs() * 1e-15);
        }

        #[test]
        fn any_string_and_int_round_trip_through_serde_json(s in any::<String>(), n in any::<i64>()) {
            let mut w = JsonWriter::new();
            w.begin_object();
            w.field_str("s", &s);
            w.field_int("n", n);
            w.end_object();
            let parsed: serde_json::Value = serde_json::from_str(&w.finish()).unwrap();
            prop_assert_eq!(parsed["s"].as_str(), Some(s.as_str()));
            prop_assert_eq!(parsed["n"].as_i64(), Some(n));
        }
    }
}
