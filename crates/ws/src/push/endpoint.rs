//! The HTTP push endpoint: `POST /push[/<topic>]` publishes its body to a
//! [`Hub`].

use futures::future::BoxFuture;
use futures::FutureExt;
use http::StatusCode;
use switchyard_hub::{is_valid_topic, Hub, PublishError};

use super::PushConfig;
use crate::http::{Request, Response};

/// The handler of the documents' push endpoint: `POST /push` publishes the
/// body to the default topic and `POST /push/<topic>` to `<topic>`,
/// answering `{"delivered": N}`, the number of subscribers it was queued
/// for. The body is checked once, against what the hub carries
/// ([`Hub::check`]): a body that is not UTF-8 on a text hub is 400 and one
/// over the hub's message limit 413, each with the reason, and neither
/// reaches any subscriber. Mount it at both paths:
///
/// ```
/// use switchyard_ws::{push_handler, Hub, HubConfig, PushConfig, Router};
///
/// let hub = Hub::new(HubConfig::default());
/// let push = push_handler(hub.clone(), PushConfig::default().token("s3cret"));
/// let router = Router::new().post("/push", push.clone()).post_prefix("/push/", push);
/// # drop(router);
/// ```
pub fn push_handler(
    hub: Hub,
    config: PushConfig,
) -> impl Fn(Request) -> BoxFuture<'static, Response> + Clone + Send + Sync + 'static {
    move |req: Request| {
        let response = push(&hub, &config, &req);
        async move { response }.boxed()
    }
}

fn push(hub: &Hub, config: &PushConfig, req: &Request) -> Response {
    if let Some(refusal) = config
        .auth
        .as_ref()
        .and_then(|auth| auth.refusal(&req.head))
    {
        return refusal;
    }
    let topic = match req.head.path.rsplit_once('/') {
        Some(("", "push")) => config.default_topic.as_str(),
        Some((_, topic)) => topic,
        None => config.default_topic.as_str(),
    };
    if !is_valid_topic(topic) {
        return Response::text(
            StatusCode::BAD_REQUEST,
            "topic names are 1-128 of A-Z a-z 0-9 . _ -",
        );
    }
    match hub.publish(topic, req.body.clone()) {
        Ok(delivered) => Response::json(StatusCode::OK, format!("{{\"delivered\":{delivered}}}\n")),
        Err(e @ PublishError::TooLarge { .. }) => {
            Response::text(StatusCode::PAYLOAD_TOO_LARGE, format!("not published: {e}"))
        }
        Err(e) => Response::text(
            StatusCode::BAD_REQUEST,
            format!("not published: {e}; this hub carries text"),
        ),
    }
}
