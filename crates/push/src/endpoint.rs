//! The HTTP push endpoint: `POST /push[/<topic>]` publishes its body to a
//! [`Hub`].

use std::future::Future;

use futures::future::BoxFuture;
use futures::FutureExt;
use switchyard_hub::{is_valid_topic, BackplaneError, Hub, PublishError, PublishReceipt};
use switchyard_ws::http::{header, HeaderValue, StatusCode};

use super::PushConfig;
use switchyard_ws::http::{Request, Response};

/// The handler of the documents' push endpoint: `POST /push` publishes the
/// body to the default topic and `POST /push/<topic>` to `<topic>`,
/// answering where the message is in its topic and, when the hub's
/// backplane knows it at once (in one process), how many subscribers it was
/// queued for: `{"offset":42,"epoch":"...","delivered":3}`.
///
/// The body is checked once, against what the hub carries ([`Hub::check`]):
/// a body that is not UTF-8 on a text hub is 400 and one over the hub's
/// message limit 413, each with the reason, and neither reaches any
/// subscriber. A push with an `Idempotency-Key` header (at most
/// [`PushConfig::max_idempotency_key`] bytes) is published at most once per
/// key: a retry whose first answer was lost gets the first answer again,
/// with `"duplicate":true`. While the backplane is down the answer is 503
/// with `Retry-After`, and nothing is published.
///
/// Mount it at both of its paths, [`PushConfig::path`] and the prefix
/// under it (`/push` and `/push/` by default); at any other path it
/// answers 404 saying where it publishes:
///
/// ```
/// use switchyard_push::hub::{Hub, HubConfig};
/// use switchyard_push::ws::Router;
/// use switchyard_push::{push_handler, PushConfig};
///
/// let hub = Hub::new(HubConfig::default());
/// let push = push_handler(hub.clone(), PushConfig::default().token("s3cret"));
/// let router = Router::new().post("/push", push.clone()).post_prefix("/push/", push);
/// // Elsewhere: the path is the handler's to know.
/// let config = PushConfig::default().path("/api/publish");
/// let publish = push_handler(hub, config);
/// let router = router
///     .post("/api/publish", publish.clone())
///     .post_prefix("/api/publish/", publish);
/// # drop(router);
/// ```
pub fn push_handler(
    hub: Hub,
    config: PushConfig,
) -> impl Fn(Request) -> BoxFuture<'static, Response> + Clone + Send + Sync + 'static {
    move |req: Request| push(&hub, &config, &req).boxed()
}

fn push(
    hub: &Hub,
    config: &PushConfig,
    req: &Request,
) -> impl Future<Output = Response> + Send + 'static {
    let published = publish(hub, config, req);
    async move {
        let published = match published {
            Ok(published) => published.await,
            Err(refusal) => return refusal,
        };
        match published {
            Ok(receipt) => receipt_response(&receipt),
            Err(e @ PublishError::TooLarge { .. }) => {
                Response::text(StatusCode::PAYLOAD_TOO_LARGE, format!("not published: {e}"))
            }
            Err(e @ PublishError::NotText { .. }) => Response::text(
                StatusCode::BAD_REQUEST,
                format!("not published: {e}; this hub carries text"),
            ),
            Err(PublishError::Backplane(e @ BackplaneError::Down { .. })) => Response::text(
                StatusCode::SERVICE_UNAVAILABLE,
                format!("not published: {e}"),
            )
            .typed_header(header::RETRY_AFTER, HeaderValue::from_static("1")),
            Err(e) => Response::text(StatusCode::BAD_GATEWAY, format!("not published: {e}")),
        }
    }
}

/// Starts the publish `req` asks for, or the answer refusing it.
fn publish(
    hub: &Hub,
    config: &PushConfig,
    req: &Request,
) -> Result<impl Future<Output = Result<PublishReceipt, PublishError>> + Send + 'static, Response> {
    if let Some(refusal) = config
        .auth
        .as_ref()
        .and_then(|auth| auth.refusal(&req.head))
    {
        return Err(refusal);
    }
    // `push`, `/push` and `/push/` are one path; `/` is the root.
    let trimmed = config.path.trim_matches('/');
    let mount = if trimmed.is_empty() {
        String::new()
    } else {
        format!("/{trimmed}")
    };
    let mount = mount.as_str();
    let topic = match req.head.path.strip_prefix(mount) {
        Some("" | "/") => config.default_topic.as_str(),
        Some(rest) if rest.starts_with('/') => &rest[1..],
        _ => {
            return Err(Response::text(
                StatusCode::NOT_FOUND,
                format!(
                    "this push handler publishes at POST {mount} and {mount}/<topic> \
                     (PushConfig::path), not {}",
                    req.head.path
                ),
            ))
        }
    };
    if !is_valid_topic(topic) {
        return Err(Response::text(
            StatusCode::BAD_REQUEST,
            "topic names are 1-128 of A-Z a-z 0-9 . _ -",
        ));
    }
    let key = match req.head.raw_header("idempotency-key") {
        None => None,
        Some(key)
            if !key.is_empty()
                && key.len() <= config.max_idempotency_key
                && key.iter().all(u8::is_ascii_graphic) =>
        {
            // Visible ASCII is UTF-8.
            std::str::from_utf8(key).ok()
        }
        Some(_) => {
            return Err(Response::text(
                StatusCode::BAD_REQUEST,
                format!(
                    "Idempotency-Key must be 1-{} visible ASCII characters",
                    config.max_idempotency_key
                ),
            ))
        }
    };
    Ok(match key {
        Some(key) => hub.publish_once(topic, req.body.clone(), key).left_future(),
        None => hub.publish(topic, req.body.clone()).right_future(),
    })
}

fn receipt_response(receipt: &PublishReceipt) -> Response {
    let mut answer = serde_json::json!({
        "offset": receipt.position.offset,
        "epoch": receipt.position.epoch.as_str(),
    });
    if let Some(delivered) = receipt.delivered.count() {
        answer["delivered"] = delivered.into();
    }
    if receipt.duplicate {
        answer["duplicate"] = true.into();
    }
    Response::json(StatusCode::OK, format!("{answer}\n"))
}
