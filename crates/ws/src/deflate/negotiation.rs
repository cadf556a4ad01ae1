//! Negotiating permessage-deflate (RFC 7692 §5, §7.1) from the
//! `Sec-WebSocket-Extensions` headers: the server's choice among a
//! client's offers, the client's offer, and its check of the server's
//! answer. No I/O: headers in, parameters out.

use std::fmt;

/// The extension's name in `Sec-WebSocket-Extensions`.
pub const PERMESSAGE_DEFLATE: &str = "permessage-deflate";

/// The largest LZ77 window, in bits (32 KiB): the default of both sides.
pub const MAX_WINDOW_BITS: u8 = 15;

/// The smallest window this implementation compresses with or accepts an
/// offer for. RFC 7692 allows 8, which zlib cannot make in a raw deflate
/// stream (it makes 9); an offer that asks for 8 is declined, and the
/// client's next offer, if any, considered.
pub const MIN_WINDOW_BITS: u8 = 9;

/// What one side of a connection asks of compression; the server's and the
/// client's settings, before negotiation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct DeflateConfig {
    /// Whether this side resets its compressor after each message (no
    /// context takeover). Default true: no compression state is kept
    /// between messages, so an idle connection keeps none, and a server
    /// can compress a published message once for every subscriber.
    /// Costs some ratio on streams of similar small messages. With false
    /// (and the peer not asking otherwise), the compressor's state stays
    /// with the connection from its first compressed message on: about
    /// 310 KiB of resident memory at a 15-bit window and 180 KiB at 10
    /// bits (zlib-rs at level 3, measured over 200 connections), on top of
    /// the 5 KiB an idle WebSocket costs.
    pub no_context_takeover: bool,
    /// Whether this side asks the peer to reset its compressor after each
    /// message, so that this side keeps no inflate state between
    /// messages either. Default true, for the same reason. With false,
    /// the inflater's state stays from the first compressed message on:
    /// its window (up to 32 KiB) and tables, 20 to 40 KiB.
    pub peer_no_context_takeover: bool,
    /// The largest window this side compresses with, in bits
    /// ([`MIN_WINDOW_BITS`] to [`MAX_WINDOW_BITS`]). Default 15.
    pub max_window_bits: u8,
    /// Messages smaller than this many bytes are sent uncompressed: below
    /// it, deflate's block header and the CPU cost more than they save.
    /// Default 256.
    pub threshold: usize,
    /// zlib's compression level, from 1 (fastest) to 9 (smallest; 0 sends
    /// deflate's stored blocks). Default 3, the level Node's `ws` shows
    /// for tuning it: echoing 64 KiB of English it cost 2.7 times less
    /// server CPU than zlib's default 6 (673 against 1,799 µs a message)
    /// for 3% more bytes, and on 4 KiB of JSON 1% more bytes
    /// (`bench/deflate.sh` at 1e2f775, zlib-rs). A server that sends mostly one
    /// message to many (compressed once) may raise it.
    pub level: u32,
}

impl Default for DeflateConfig {
    fn default() -> Self {
        Self {
            no_context_takeover: true,
            peer_no_context_takeover: true,
            max_window_bits: MAX_WINDOW_BITS,
            threshold: 256,
            level: 3,
        }
    }
}

/// What was agreed for one connection: for each direction, whether the
/// compressor resets after each message and its largest window.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct DeflateParams {
    /// The server resets its compressor after each message.
    pub server_no_context_takeover: bool,
    /// The client resets its compressor after each message.
    pub client_no_context_takeover: bool,
    /// The server's largest window, in bits.
    pub server_max_window_bits: u8,
    /// The client's largest window, in bits.
    pub client_max_window_bits: u8,
    /// The offer named `server_max_window_bits`, so the answer must too
    /// (RFC 7692 §7.1.2.1), even at 15.
    server_window_asked: bool,
}

impl DeflateParams {
    /// The server's `Sec-WebSocket-Extensions` value that accepts with
    /// these parameters (the defaults, 15 bits, left out).
    pub fn response(&self) -> String {
        let mut value = String::from(PERMESSAGE_DEFLATE);
        if self.server_no_context_takeover {
            value.push_str("; server_no_context_takeover");
        }
        if self.client_no_context_takeover {
            value.push_str("; client_no_context_takeover");
        }
        if self.server_max_window_bits < MAX_WINDOW_BITS || self.server_window_asked {
            value.push_str(&format!(
                "; server_max_window_bits={}",
                self.server_max_window_bits
            ));
        }
        if self.client_max_window_bits < MAX_WINDOW_BITS {
            value.push_str(&format!(
                "; client_max_window_bits={}",
                self.client_max_window_bits
            ));
        }
        value
    }
}

/// Why a client refuses the server's answer to its offer: RFC 7692 §7.1
/// makes each of these a failed connection.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum NegotiationError {
    /// The header is not a list of extensions with parameters.
    #[error("malformed Sec-WebSocket-Extensions: {0}")]
    Malformed(String),
    /// The server accepted an extension that was not offered.
    #[error("the server accepted an extension that was not offered: {0}")]
    NotOffered(String),
    /// The server accepted permessage-deflate with a parameter that is
    /// not one, is given twice, has a value it may not have, or was not
    /// offered.
    #[error("the server's permessage-deflate parameters are invalid: {0}")]
    InvalidParameter(String),
}

/// One extension of a `Sec-WebSocket-Extensions` list: its name and its
/// parameters, each with its value if it has one (quotes taken off).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Extension {
    /// The extension's name, as written.
    pub name: String,
    /// Its parameters, in order.
    pub params: Vec<(String, Option<String>)>,
}

/// Parses `Sec-WebSocket-Extensions` values (each may hold several
/// extensions, separated by commas) into their extensions, in order.
///
/// ```
/// use switchyard_ws::deflate::parse_extensions;
///
/// let offers = parse_extensions(["permessage-deflate; client_max_window_bits, x-foo; a=\"1\""])?;
/// assert_eq!(offers[0].name, "permessage-deflate");
/// assert_eq!(offers[0].params, [("client_max_window_bits".to_string(), None)]);
/// assert_eq!(offers[1].params, [("a".to_string(), Some("1".to_string()))]);
/// # Ok::<(), switchyard_ws::deflate::NegotiationError>(())
/// ```
pub fn parse_extensions<'a>(
    values: impl IntoIterator<Item = &'a str>,
) -> Result<Vec<Extension>, NegotiationError> {
    let mut extensions = Vec::new();
    for value in values {
        for item in split_outside_quotes(value, ',')? {
            if item.trim().is_empty() {
                continue; // `a, , b` is a list of two (RFC 9110 §5.6.1)
            }
            extensions.push(parse_extension(item)?);
        }
    }
    Ok(extensions)
}

fn parse_extension(item: &str) -> Result<Extension, NegotiationError> {
    let mut parts = split_outside_quotes(item, ';')?.into_iter();
    let name = parts.next().unwrap_or_default().trim();
    if !is_token(name) {
        return Err(NegotiationError::Malformed(format!(
            "{name:?} is not an extension name"
        )));
    }
    let mut params = Vec::new();
    for part in parts {
        let (key, value) = match part.split_once('=') {
            Some((key, value)) => (key.trim(), Some(unquote(value.trim())?)),
            None => (part.trim(), None),
        };
        if !is_token(key) {
            return Err(NegotiationError::Malformed(format!(
                "{key:?} is not a parameter name"
            )));
        }
        params.push((key.to_string(), value));
    }
    Ok(Extension {
        name: name.to_string(),
        params,
    })
}

/// `text` cut at each `separator` that is not inside a quoted string.
fn split_outside_quotes(text: &str, separator: char) -> Result<Vec<&str>, NegotiationError> {
    let mut pieces = Vec::new();
    let (mut start, mut quoted, mut escaped) = (0, false, false);
    for (i, c) in text.char_indices() {
        match c {
            _ if escaped => escaped = false,
            '\\' if quoted => escaped = true,
            '"' => quoted = !quoted,
            c if c == separator && !quoted => {
                pieces.push(&text[start..i]);
                start = i + c.len_utf8();
            }
            _ => {}
        }
    }
    if quoted {
        return Err(NegotiationError::Malformed("an unclosed quote".into()));
    }
    pieces.push(&text[start..]);
    Ok(pieces)
}

/// A parameter's value: a token, or a quoted string (whose content must
/// be a token too, RFC 7692 §5.1, so no escapes survive).
fn unquote(value: &str) -> Result<String, NegotiationError> {
    let inner = match value.strip_prefix('"') {
        Some(rest) => rest.strip_suffix('"').unwrap_or(rest),
        None => value,
    };
    if is_token(inner) {
        Ok(inner.to_string())
    } else {
        Err(NegotiationError::Malformed(format!(
            "{value:?} is not a parameter value"
        )))
    }
}

/// An HTTP token (RFC 9110 §5.6.2).
fn is_token(text: &str) -> bool {
    !text.is_empty()
        && text
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
}

/// A window size in bits: digits only, 8 to 15 (RFC 7692 §7.1.2).
fn window_bits(value: &str) -> Option<u8> {
    if value.is_empty() || value.len() > 2 || !value.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    value.parse().ok().filter(|bits| (8..=15).contains(bits))
}

/// A server's choice among a client's offers (`Sec-WebSocket-Extensions`
/// values of its request): the parameters of the first permessage-deflate
/// offer it can accept under `config`, whose
/// [`response`](DeflateParams::response) goes in the 101; `None` to answer
/// without compression. An offer with an unknown parameter, one given
/// twice, or a value out of range is declined, as RFC 7692 §5.1 says, and
/// the next considered; a header that is not a list of extensions at all
/// declines everything.
///
/// ```
/// use switchyard_ws::deflate::{accept_offer, DeflateConfig};
///
/// // What Chromium offers.
/// let offer = "permessage-deflate; client_max_window_bits";
/// let params = accept_offer([offer], &DeflateConfig::default()).unwrap();
/// assert_eq!(
///     params.response(),
///     "permessage-deflate; server_no_context_takeover; client_no_context_takeover"
/// );
/// // An offer this server cannot keep (a window of 8 bits), then one it can.
/// let offers = "permessage-deflate; server_max_window_bits=8, permessage-deflate";
/// assert!(accept_offer([offers], &DeflateConfig::default()).is_some());
/// assert!(accept_offer(["permessage-deflate; mystery=1"], &DeflateConfig::default()).is_none());
/// ```
pub fn accept_offer<'a>(
    offers: impl IntoIterator<Item = &'a str>,
    config: &DeflateConfig,
) -> Option<DeflateParams> {
    let extensions = parse_extensions(offers).ok()?;
    extensions
        .iter()
        .filter(|e| e.name.eq_ignore_ascii_case(PERMESSAGE_DEFLATE))
        .find_map(|offer| accept_one(offer, config))
}

/// The parameters for one offer, or `None` to decline it.
fn accept_one(offer: &Extension, config: &DeflateConfig) -> Option<DeflateParams> {
    let mut seen = Vec::new();
    let mut params = DeflateParams {
        server_no_context_takeover: config.no_context_takeover,
        client_no_context_takeover: config.peer_no_context_takeover,
        server_max_window_bits: config
            .max_window_bits
            .clamp(MIN_WINDOW_BITS, MAX_WINDOW_BITS),
        client_max_window_bits: MAX_WINDOW_BITS,
        server_window_asked: false,
    };
    for (name, value) in &offer.params {
        if seen.contains(&name.as_str()) {
            return None;
        }
        seen.push(name.as_str());
        match (name.as_str(), value.as_deref()) {
            ("server_no_context_takeover", None) => params.server_no_context_takeover = true,
            ("client_no_context_takeover", None) => params.client_no_context_takeover = true,
            ("server_max_window_bits", Some(value)) => {
                let asked = window_bits(value)?;
                if asked < MIN_WINDOW_BITS {
                    return None;
                }
                params.server_max_window_bits = params.server_max_window_bits.min(asked);
                params.server_window_asked = true;
            }
            // The client can limit its window: we take the full one (a
            // smaller one would save the client memory, not us).
            ("client_max_window_bits", None) => {}
            ("client_max_window_bits", Some(value)) => {
                window_bits(value)?;
            }
            _ => return None,
        }
    }
    Some(params)
}

/// A client's offer under `config`, for its request's
/// `Sec-WebSocket-Extensions`: the client may be told to limit its window
/// (`client_max_window_bits`), and asks the server for what `config`
/// says.
///
/// ```
/// use switchyard_ws::deflate::{client_offer, DeflateConfig};
///
/// assert_eq!(
///     client_offer(&DeflateConfig::default()),
///     "permessage-deflate; client_max_window_bits; server_no_context_takeover; client_no_context_takeover"
/// );
/// ```
pub fn client_offer(config: &DeflateConfig) -> String {
    let mut offer = format!("{PERMESSAGE_DEFLATE}; client_max_window_bits");
    if config.peer_no_context_takeover {
        offer.push_str("; server_no_context_takeover");
    }
    if config.no_context_takeover {
        offer.push_str("; client_no_context_takeover");
    }
    offer
}

/// A client's check of the server's answer (`Sec-WebSocket-Extensions`
/// values of its 101) to [`client_offer`] under `config`: `Ok(None)`
/// without compression, the parameters agreed, or the reason the
/// connection must fail (RFC 7692 §7.1): an extension that was not
/// offered, a parameter unknown, given twice or out of range, or a
/// `server_no_context_takeover` that was asked for and not granted.
///
/// ```
/// use switchyard_ws::deflate::{check_response, DeflateConfig};
///
/// let config = DeflateConfig::default();
/// let agreed = check_response(
///     ["permessage-deflate; server_no_context_takeover; client_no_context_takeover"],
///     &config,
/// )?;
/// assert!(agreed.is_some_and(|p| p.server_no_context_takeover));
/// assert!(check_response(["permessage-deflate; server_max_window_bits=20"], &config).is_err());
/// assert_eq!(check_response([], &config)?, None);
/// # Ok::<(), switchyard_ws::deflate::NegotiationError>(())
/// ```
pub fn check_response<'a>(
    values: impl IntoIterator<Item = &'a str>,
    config: &DeflateConfig,
) -> Result<Option<DeflateParams>, NegotiationError> {
    let extensions = parse_extensions(values)?;
    let mut agreed = None;
    for extension in &extensions {
        if !extension.name.eq_ignore_ascii_case(PERMESSAGE_DEFLATE) || agreed.is_some() {
            return Err(NegotiationError::NotOffered(extension.name.clone()));
        }
        agreed = Some(check_one(extension, config)?);
    }
    Ok(agreed)
}

fn check_one(
    answer: &Extension,
    config: &DeflateConfig,
) -> Result<DeflateParams, NegotiationError> {
    let invalid = |what: &str| NegotiationError::InvalidParameter(what.to_string());
    let mut seen = Vec::new();
    let mut params = DeflateParams {
        server_no_context_takeover: false,
        client_no_context_takeover: config.no_context_takeover,
        server_max_window_bits: MAX_WINDOW_BITS,
        client_max_window_bits: config
            .max_window_bits
            .clamp(MIN_WINDOW_BITS, MAX_WINDOW_BITS),
        server_window_asked: false,
    };
    for (name, value) in &answer.params {
        if seen.contains(&name.as_str()) {
            return Err(invalid(&format!("{name} given twice")));
        }
        seen.push(name.as_str());
        match (name.as_str(), value.as_deref()) {
            ("server_no_context_takeover", None) => params.server_no_context_takeover = true,
            ("client_no_context_takeover", None) => params.client_no_context_takeover = true,
            ("server_max_window_bits", Some(value)) => {
                params.server_max_window_bits =
                    window_bits(value).ok_or_else(|| invalid(&format!("{name}={value}")))?;
            }
            ("client_max_window_bits", Some(value)) => {
                let bits = window_bits(value).ok_or_else(|| invalid(&format!("{name}={value}")))?;
                // 8 bits, which zlib cannot make: this client then sends
                // its messages uncompressed, which the RFC allows.
                params.client_max_window_bits = params.client_max_window_bits.min(bits);
            }
            (name, Some(value)) => return Err(invalid(&format!("{name}={value}"))),
            (name, None) => return Err(invalid(name)),
        }
    }
    if config.peer_no_context_takeover && !params.server_no_context_takeover {
        return Err(invalid("server_no_context_takeover was asked for"));
    }
    Ok(params)
}

impl fmt::Display for Extension {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name)?;
        for (name, value) in &self.params {
            match value {
                Some(value) => write!(f, "; {name}={value}")?,
                None => write!(f, "; {name}")?,
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn accept(offer: &str) -> Option<String> {
        accept_offer([offer], &DeflateConfig::default()).map(|p| p.response())
    }

    #[test]
    fn what_browsers_and_libraries_offer_is_accepted() {
        let both = "permessage-deflate; server_no_context_takeover; client_no_context_takeover";
        // Chromium and Firefox.
        assert_eq!(
            accept("permessage-deflate; client_max_window_bits").as_deref(),
            Some(both)
        );
        // Python's websockets.
        assert_eq!(
            accept("permessage-deflate; server_max_window_bits=12; client_max_window_bits=12")
                .as_deref(),
            Some(
                "permessage-deflate; server_no_context_takeover; client_no_context_takeover; \
                 server_max_window_bits=12"
            )
        );
        // Quoted values, names in another case, several header lines.
        let params = accept_offer(
            [
                "x-other",
                "Permessage-Deflate; server_max_window_bits=\"10\"",
            ],
            &DeflateConfig::default(),
        )
        .unwrap();
        assert_eq!(params.server_max_window_bits, 10);
        // Asked for, it is answered even at the default (Python's
        // websockets refuses an answer without it).
        assert_eq!(
            accept("permessage-deflate; server_max_window_bits=15").as_deref(),
            Some(
                "permessage-deflate; server_no_context_takeover; client_no_context_takeover; \
                 server_max_window_bits=15"
            )
        );
    }

    #[test]
    fn an_offer_the_rfc_says_to_decline_is_declined_and_the_next_considered() {
        for offer in [
            "permessage-deflate; server_max_window_bits",
            "permessage-deflate; server_max_window_bits=16",
            "permessage-deflate; server_max_window_bits=08",
            "permessage-deflate; server_max_window_bits=8",
            "permessage-deflate; client_max_window_bits=7",
            "permessage-deflate; server_no_context_takeover=1",
            "permessage-deflate; client_no_context_takeover; client_no_context_takeover",
            "permessage-deflate; x=1",
        ] {
            assert_eq!(accept(offer), None, "{offer}");
            let with_fallback = format!("{offer}, permessage-deflate");
            assert!(accept(&with_fallback).is_some(), "{with_fallback}");
        }
        for header in [
            "permessage-deflate; a=\"1",
            "permessage-deflate; =1",
            "; x",
            "a b",
        ] {
            assert_eq!(accept(header), None, "{header}");
        }
    }

    #[test]
    fn a_server_that_keeps_context_says_so_only_where_asked() {
        let keep = DeflateConfig {
            no_context_takeover: false,
            peer_no_context_takeover: false,
            ..DeflateConfig::default()
        };
        let plain = accept_offer(["permessage-deflate"], &keep).unwrap();
        assert_eq!(plain.response(), "permessage-deflate");
        let asked = accept_offer(["permessage-deflate; server_no_context_takeover"], &keep);
        assert_eq!(
            asked.unwrap().response(),
            "permessage-deflate; server_no_context_takeover"
        );
    }

    #[test]
    fn a_client_refuses_what_it_did_not_offer_or_cannot_keep() {
        let config = DeflateConfig::default();
        let ok = "permessage-deflate; server_no_context_takeover; client_no_context_takeover";
        for (answer, error) in [
            ("x-foo", "not offered"),
            (&format!("{ok}, {ok}")[..], "not offered"),
            (&format!("{ok}; mystery")[..], "mystery"),
            (
                &format!("{ok}; server_max_window_bits=7")[..],
                "server_max_window_bits=7",
            ),
            (&format!("{ok}; server_no_context_takeover")[..], "twice"),
            (
                "permessage-deflate",
                "server_no_context_takeover was asked for",
            ),
        ] {
            let refusal = check_response([answer], &config).unwrap_err().to_string();
            assert!(refusal.contains(error), "{answer}: {refusal}");
        }
        let agreed = check_response([&format!("{ok}; client_max_window_bits=10")[..]], &config)
            .unwrap()
            .unwrap();
        assert_eq!(agreed.client_max_window_bits, 10);
        let eight = check_response([&format!("{ok}; client_max_window_bits=8")[..]], &config);
        assert_eq!(eight.unwrap().unwrap().client_max_window_bits, 8);
        // A window asked of this side outside 9 to 15 is taken as the
        // nearest it can keep.
        let odd = DeflateConfig {
            max_window_bits: 3,
            ..DeflateConfig::default()
        };
        let params = accept_offer(["permessage-deflate"], &odd).unwrap();
        assert_eq!(params.server_max_window_bits, MIN_WINDOW_BITS);
        // The server's answer is what the client's offer makes of it.
        let answer = accept_offer([client_offer(&config).as_str()], &config).unwrap();
        assert_eq!(
            check_response([answer.response().as_str()], &config).unwrap(),
            Some(answer)
        );
    }

    proptest! {
        /// Any header is parsed or refused, never a panic; what is
        /// parsed prints back to what parses the same.
        #[test]
        fn any_header_is_parsed_or_refused(header in "[ -~]{0,80}") {
            if let Ok(extensions) = parse_extensions([header.as_str()]) {
                let printed: Vec<String> = extensions.iter().map(|e| e.to_string()).collect();
                let again = parse_extensions(printed.iter().map(String::as_str)).unwrap();
                prop_assert_eq!(again, extensions);
            }
            let _ = accept_offer([header.as_str()], &DeflateConfig::default());
            let _ = check_response([header.as_str()], &DeflateConfig::default());
        }

        /// Every accepted offer's answer passes the client's check, with
        /// the same parameters.
        #[test]
        fn an_accepted_offer_is_an_answer_the_client_takes(
            server_bits in 9u8..=15,
            client_bits in proptest::option::of(9u8..=15),
            server_nct: bool,
            client_nct: bool,
        ) {
            let mut offer = format!("permessage-deflate; server_max_window_bits={server_bits}");
            match client_bits {
                Some(bits) => offer.push_str(&format!("; client_max_window_bits={bits}")),
                None => offer.push_str("; client_max_window_bits"),
            }
            if server_nct { offer.push_str("; server_no_context_takeover"); }
            if client_nct { offer.push_str("; client_no_context_takeover"); }
            let config = DeflateConfig::default();
            let params = accept_offer([offer.as_str()], &config).unwrap();
            prop_assert!(params.server_max_window_bits <= server_bits);
            let client = DeflateConfig { peer_no_context_takeover: server_nct, ..config };
            let checked = check_response([params.response().as_str()], &client).unwrap().unwrap();
            prop_assert_eq!(checked.server_max_window_bits, params.server_max_window_bits);
            prop_assert_eq!(checked.server_no_context_takeover, params.server_no_context_takeover);
        }
    }
}
