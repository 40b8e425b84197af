//! Query strings as `application/x-www-form-urlencoded`, decoded one way wherever
//! Airlock reads one (the api's `rawQueryString`, the local stack's gateway), so a
//! parameter cannot mean one thing to the gateway and another to the handler.

use std::borrow::Cow;

use percent_encoding::percent_decode_str;

/// The `name=value` pairs of `query`, in order and decoded; repeated names stay
/// apart, empty pairs are skipped, and a pair without `=` has an empty value.
pub fn pairs(query: &str) -> impl Iterator<Item = (Cow<'_, str>, Cow<'_, str>)> {
    query
        .split('&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| {
            let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
            (decode(name), decode(value))
        })
}

/// One component: `+` is a space, `%XX` a byte. Invalid UTF-8 becomes U+FFFD, which
/// no parameter accepts, so it is still refused where it matters.
pub fn decode(raw: &str) -> Cow<'_, str> {
    if raw.contains('+') {
        let spaced = raw.replace('+', " ");
        Cow::Owned(percent_decode_str(&spaced).decode_utf8_lossy().into_owned())
    } else {
        percent_decode_str(raw).decode_utf8_lossy()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pairs_are_decoded_in_order_and_repeats_kept() {
        let got: Vec<_> = pairs("a=1+2&&b=%C3%A9&a=x%2By&flag")
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect();
        assert_eq!(
            got,
            [
                ("a".to_owned(), "1 2".to_owned()),
                ("b".to_owned(), "é".to_owned()),
                ("a".to_owned(), "x+y".to_owned()),
                ("flag".to_owned(), String::new()),
            ]
        );
    }

    #[test]
    fn invalid_utf8_becomes_the_replacement_character() {
        assert_eq!(decode("%FF"), "\u{FFFD}");
    }
}
