//! Input rules shared by the client (checked before sending) and the mock
//! server (enforced on receipt).

use std::sync::LazyLock;

use fancy_regex::Regex;

/// The AuthFlow password rule, verbatim from the API document.
///
/// Note its alternation: the first branch is an empty lookahead for an
/// upper-case letter, the second requires a lower-case letter, so a password
/// needs *an upper-case or a lower-case letter*, plus a digit, plus one of
/// `!@#$%^&*-`, and 8 to 32 characters in all.
pub const PASSWORD_PATTERN: &str =
    r"^(?:(?=(.*[A-Z]))|(?:.*[a-z]))(?=(.*[0-9]))(?=(.*[!@#$%^&*-])).{8,32}$";

static PASSWORD_RE: LazyLock<Regex> = LazyLock::new(|| {
    // Invariant: PASSWORD_PATTERN is a constant that compiles (tested below).
    #[allow(clippy::unwrap_used)]
    Regex::new(PASSWORD_PATTERN).unwrap()
});

/// Whether `password` satisfies [`PASSWORD_PATTERN`], exactly as the API does.
///
/// ```
/// use authflow::api::validation::password_meets_rule;
/// assert!(password_meets_rule("TestPass123!"));
/// assert!(!password_meets_rule("TestPass123")); // no symbol
/// ```
pub fn password_meets_rule(password: &str) -> bool {
    // A backtracking limit hit counts as not matching: never panic on input.
    PASSWORD_RE.is_match(password).unwrap_or(false)
}

/// A pragmatic email shape check: one `@`, a non-empty local part, a domain
/// with a dot and no empty labels, no whitespace, at most 254 characters.
pub fn is_email_shaped(email: &str) -> bool {
    if email.len() > 254 || email.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return false;
    }
    let Some((local, domain)) = email.split_once('@') else {
        return false;
    };
    !local.is_empty()
        && local.len() <= 64
        && !domain.contains('@')
        && domain.contains('.')
        && domain.split('.').all(|l| !l.is_empty())
}

/// Whether `key` has the AuthFlow organization key format: `af_` and 32
/// lowercase hex characters.
pub fn is_org_api_key(key: &str) -> bool {
    key.len() == 35
        && key.starts_with("af_")
        && key[3..]
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pattern_compiles() {
        assert!(Regex::new(PASSWORD_PATTERN).is_ok());
    }

    #[test]
    fn password_rule_including_its_odd_alternation() {
        let upper32 = format!("A1!{}", "B".repeat(29));
        let upper33 = format!("A1!{}", "B".repeat(30));
        let mixed33 = format!("Aa1!{}", "a".repeat(29));
        let lower41 = format!("{}1!", "a".repeat(39));
        let cases: [(&str, bool); 22] = [
            ("TestPass123!", true),
            ("NewPass123!", true),
            // Upper-case only: the first (zero-width lookahead) branch holds.
            ("ABCDEFG1!", true),
            // Lower-case only: the second branch *consumes* a prefix ending in a
            // lower-case letter, and the digit, the symbol and the 8-32 length
            // are then checked on what follows it.
            ("abcdefg1!", true),
            ("ab1!efgh", false), // 8 chars, but only 7 remain after "a"
            ("abc1!efgh", true),
            ("12!abcdefgh", false), // no digit after any lower-case letter
            ("12!Abcdefgh", true),  // the upper-case branch does not consume
            // No letters at all: neither branch holds.
            ("12345678!", false),
            // Missing a digit or a symbol.
            ("Password!", false),
            ("Password1", false),
            // Length bounds.
            ("Aa1!aaaa", true),
            ("Aa1!aaa", false),
            (&upper32, true),
            (&upper33, false),
            // ...but the consuming branch lets longer passwords through.
            (&mixed33, true),
            (&lower41, true),
            // The hyphen is one of the allowed symbols; the underscore is not.
            ("Password1-", true),
            ("Password1_", false),
            // `.` does not match a newline.
            ("Aa1!aaaa\naaa", false),
            ("", false),
            ("        ", false),
        ];
        for (pw, ok) in cases {
            assert_eq!(password_meets_rule(pw), ok, "{pw:?}");
        }
    }

    #[test]
    fn email_shapes() {
        for ok in ["user@example.com", "a.b+c@sub.example.org"] {
            assert!(is_email_shaped(ok), "{ok}");
        }
        for bad in [
            "",
            "user",
            "@example.com",
            "user@",
            "user@example",
            "user@@example.com",
            "a b@example.com",
            "user@example..com",
        ] {
            assert!(!is_email_shaped(bad), "{bad}");
        }
    }

    #[test]
    fn org_key_format() {
        assert!(is_org_api_key("af_0123456789abcdef0123456789abcdef"));
        assert!(!is_org_api_key("af_0123456789ABCDEF0123456789abcdef"));
        assert!(!is_org_api_key("af_0123456789abcdef0123456789abcde"));
        assert!(!is_org_api_key("xx_0123456789abcdef0123456789abcdef"));
        assert!(!is_org_api_key("af_0123456789abcdef0123456789abcdeg"));
    }
}
