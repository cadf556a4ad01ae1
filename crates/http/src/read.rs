//! Reading a request within the server's limits: its head, then its body.

use bytes::Bytes;
use futures::io::AsyncReadExt;
use http::StatusCode;

use crate::{HttpServerConfig, ServerIo};
use crate::{RequestHead, Response};

/// Why a request gets no ordinary answer: it is refused with a response, or
/// the connection is dropped without one (it ended, failed, or was too slow).
#[derive(Debug)]
pub(crate) enum Refused {
    Answer(Response),
    HangUp,
}

/// Reads the request head; what arrived after it comes back too. A connection
/// that ended or failed first is [`Refused::HangUp`].
pub(crate) async fn read_request(
    io: &mut ServerIo,
    config: &HttpServerConfig,
) -> Result<(RequestHead, Bytes), Refused> {
    let mut buf = Vec::with_capacity(1024);
    let mut chunk = [0u8; 2048];
    loop {
        let n = io.read(&mut chunk).await.map_err(|_| Refused::HangUp)?;
        if n == 0 {
            return Err(Refused::HangUp);
        }
        buf.extend_from_slice(&chunk[..n]);
        if let Some((head, len)) =
            RequestHead::parse(&buf, config.max_head).map_err(Refused::Answer)?
        {
            let rest = Bytes::from(buf).slice(len..);
            return Ok((head, rest));
        }
    }
}

/// Reads a request body of `Content-Length` bytes, within `max_body`.
pub(crate) async fn read_body(
    io: &mut ServerIo,
    head: &RequestHead,
    rest: Bytes,
    config: &HttpServerConfig,
) -> Result<Bytes, Refused> {
    if head.header("transfer-encoding").is_some() {
        return Err(Refused::Answer(Response::text(
            StatusCode::NOT_IMPLEMENTED,
            "chunked bodies are not supported; send Content-Length",
        )));
    }
    let len = match head.header("content-length") {
        None if head.method == "GET" || head.method == "HEAD" => 0,
        None => {
            return Err(Refused::Answer(Response::text(
                StatusCode::LENGTH_REQUIRED,
                "Content-Length required",
            )))
        }
        Some(v) => v.parse::<usize>().map_err(|_| {
            Refused::Answer(Response::text(
                StatusCode::BAD_REQUEST,
                "malformed Content-Length",
            ))
        })?,
    };
    if len > config.max_body {
        return Err(Refused::Answer(Response::text(
            StatusCode::PAYLOAD_TOO_LARGE,
            format!(
                "body of {len} bytes is over the {}-byte limit",
                config.max_body
            ),
        )));
    }
    let mut body = Vec::with_capacity(len);
    body.extend_from_slice(&rest[..rest.len().min(len)]);
    let have = body.len();
    body.resize(len, 0);
    io.read_exact(&mut body[have..])
        .await
        .map_err(|_| Refused::HangUp)?;
    Ok(Bytes::from(body))
}
