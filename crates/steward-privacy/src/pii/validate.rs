//! Checksums and validity rules that turn a pattern match into a confident detection: Luhn
//! for payment cards, ISO 13616 mod-97 for IBANs, the SSA's assignment rules for US SSNs.

/// Luhn check over the ASCII digits of `s` (other characters, e.g. spaces and dashes, are
/// skipped). Needs at least two digits.
pub fn luhn(s: &str) -> bool {
    let mut sum = 0u32;
    let mut count = 0usize;
    for b in s.bytes().rev().filter(u8::is_ascii_digit) {
        let mut d = u32::from(b - b'0');
        if count % 2 == 1 {
            d *= 2;
            if d > 9 {
                d -= 9;
            }
        }
        sum += d;
        count += 1;
    }
    count >= 2 && sum.is_multiple_of(10)
}

/// A payment card number: 13 to 19 digits, a known issuer prefix, and a valid Luhn sum.
pub fn payment_card(s: &str) -> bool {
    let mut digits = [0u8; 19];
    let mut n = 0;
    for b in s.bytes().filter(u8::is_ascii_digit) {
        if n == digits.len() {
            return false;
        }
        digits[n] = b - b'0';
        n += 1;
    }
    if !(12..=19).contains(&n) {
        return false;
    }
    // Issuer identification: Visa 4, Mastercard 51-55 / 2221-2720, Amex 34/37, Discover 6011 /
    // 65 / 644-649, Diners 36 / 38 / 300-305, JCB 3528-3589 and the older 15-digit 1800 / 2131,
    // UnionPay 62, Maestro 50 / 56-69 (12 to 19 digits).
    let issuer_ok = match digits[0] {
        2..=6 => n >= 13 || matches!(digits[0], 5 | 6),
        1 => n == 15 && digits[1..4] == [8, 0, 0],
        _ => false,
    };
    issuer_ok && luhn(s)
}

/// IBAN: country code, two check digits, then the basic bank account number; valid when the
/// rearranged number is 1 modulo 97 and the length fits the country (when the country is known).
pub fn iban(s: &str) -> bool {
    let mut compact = [0u8; 34];
    let mut n = 0;
    for b in s.bytes().filter(|b| !b.is_ascii_whitespace()) {
        if n == compact.len() || !b.is_ascii_alphanumeric() {
            return false;
        }
        compact[n] = b.to_ascii_uppercase();
        n += 1;
    }
    if n < 15 {
        return false;
    }
    let code = &compact[..n];
    if !code[0].is_ascii_uppercase() || !code[1].is_ascii_uppercase() {
        return false;
    }
    if !code[2].is_ascii_digit() || !code[3].is_ascii_digit() {
        return false;
    }
    if let Some(expected) = iban_length(code[0], code[1])
        && expected != n
    {
        return false;
    }
    let mut rem = 0u32;
    for &b in code[4..].iter().chain(&code[..4]) {
        if b.is_ascii_digit() {
            rem = (rem * 10 + u32::from(b - b'0')) % 97;
        } else {
            let v = u32::from(b - b'A') + 10;
            rem = (rem * 100 + v) % 97;
        }
    }
    rem == 1
}

/// IBAN lengths of the SEPA countries and a few others (ISO 13616 registry).
fn iban_length(a: u8, b: u8) -> Option<usize> {
    let len = match [a, b] {
        [b'N', b'O'] => 15,
        [b'B', b'E'] => 16,
        [b'D', b'K'] | [b'F', b'I'] | [b'F', b'O'] | [b'G', b'L'] | [b'N', b'L'] => 18,
        [b'S', b'I'] => 19,
        [b'A', b'T'] | [b'E', b'E'] | [b'K', b'Z'] | [b'L', b'T'] | [b'L', b'U'] => 20,
        [b'C', b'H'] | [b'C', b'R'] | [b'H', b'R'] | [b'L', b'I'] | [b'L', b'V'] => 21,
        [b'B', b'G'] | [b'D', b'E'] | [b'G', b'B'] | [b'I', b'E'] | [b'M', b'E'] | [b'R', b'S'] => {
            22
        }
        [b'I', b'L'] | [b'G', b'I'] => 23,
        [b'C', b'Z']
        | [b'E', b'S']
        | [b'M', b'D']
        | [b'P', b'K']
        | [b'R', b'O']
        | [b'S', b'A']
        | [b'S', b'E']
        | [b'S', b'K']
        | [b'T', b'N'] => 24,
        [b'P', b'T'] => 25,
        [b'I', b'S'] | [b'T', b'R'] => 26,
        [b'F', b'R'] | [b'G', b'R'] | [b'I', b'T'] | [b'M', b'C'] | [b'S', b'M'] => 27,
        [b'A', b'L'] | [b'C', b'Y'] | [b'H', b'U'] | [b'P', b'L'] => 28,
        [b'B', b'R'] | [b'Q', b'A'] => 29,
        [b'M', b'U'] => 30,
        [b'M', b'T'] => 31,
        _ => return None,
    };
    Some(len)
}

/// US Social Security number: nine digits; area not 000, 666 or 900-999, group not 00,
/// serial not 0000 (SSA rules since the 2011 randomisation still exclude these).
pub fn us_ssn(s: &str) -> bool {
    let mut d = [0u16; 9];
    let mut n = 0;
    for b in s.bytes().filter(u8::is_ascii_digit) {
        if n == 9 {
            return false;
        }
        d[n] = u16::from(b - b'0');
        n += 1;
    }
    if n != 9 {
        return false;
    }
    let area = d[0] * 100 + d[1] * 10 + d[2];
    let group = d[3] * 10 + d[4];
    let serial = d[5] * 1000 + d[6] * 100 + d[7] * 10 + d[8];
    // Runs of one digit (111-11-1111) are never issued and are what people type as examples.
    let all_same = d.iter().all(|&x| x == d[0]);
    area != 0 && area != 666 && area < 900 && group != 0 && serial != 0 && !all_same
}

/// IPv6 address (std's parser, which accepts `::` compression and embedded IPv4).
pub fn ipv6(s: &str) -> bool {
    s.parse::<std::net::Ipv6Addr>().is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn luhn_accepts_valid_and_rejects_one_digit_off() {
        assert!(payment_card("4111 1111 1111 1111"));
        assert!(payment_card("5500-0000-0000-0004"));
        assert!(payment_card("378282246310005"));
        assert!(!payment_card("4111 1111 1111 1112"));
        assert!(!payment_card("378282246310006"));
        // Valid Luhn but no issuer starts with 9 or 0.
        assert!(luhn("9000000000000001"));
        assert!(!payment_card("9000000000000001"));
        // Too short or too long.
        assert!(!payment_card("424242424242"));
        // 12 digits only for Maestro (5x, 6x); the old 15-digit JCB starts 1800.
        assert!(payment_card("501803075628"));
        assert!(payment_card("180092617964050"));
        assert!(!payment_card("180092617964051"));
        assert!(!payment_card("42424242424242424242"));
    }

    #[test]
    fn iban_checks_mod_97_and_length() {
        assert!(iban("GB82 WEST 1234 5698 7654 32"));
        assert!(iban("DE89370400440532013000"));
        assert!(iban("fr1420041010050500013m02606"));
        assert!(!iban("GB82 WEST 1234 5698 7654 33"));
        assert!(!iban("DE8937040044053201300"));
        assert!(!iban("GB82-WEST-1234"));
        assert!(!iban("1282WEST12345698765432"));
    }

    #[test]
    fn ssn_rules_reject_unissued_numbers() {
        assert!(us_ssn("123-45-6789"));
        assert!(us_ssn("643216917"));
        assert!(!us_ssn("000-12-3456"));
        assert!(!us_ssn("666-12-3456"));
        assert!(!us_ssn("900-12-3456"));
        assert!(!us_ssn("987-65-4321"));
        assert!(!us_ssn("123-00-4567"));
        assert!(!us_ssn("123-45-0000"));
        assert!(!us_ssn("111-11-1111"));
        assert!(!us_ssn("123-45-678"));
    }

    #[test]
    fn ipv6_parses() {
        assert!(ipv6("2001:db8::1"));
        assert!(ipv6("c8d5:7717:9055:a36f:4aa5:f9d4:335f:2f59"));
        assert!(!ipv6("12:34"));
        assert!(!ipv6("g::1"));
    }
}
