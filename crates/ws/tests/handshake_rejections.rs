//! Every refusal of the opening handshake, over a real socket, with its
//! status and a body that says why.

mod support;

use support::{raw_exchange, start, status, upgrade_request};
use switchyard_ws::{OriginPolicy, WsServerConfig};

#[test]
fn a_valid_upgrade_gets_101_with_the_accept_key() {
    switchyard_rt::block_on(async {
        let addr = start(WsServerConfig::default()).await;
        let r = raw_exchange(addr, upgrade_request(addr, "").as_bytes());
        assert_eq!(status(&r), 101, "{r}");
        assert!(
            r.contains("sec-websocket-accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo="),
            "{r}"
        );
    })
}

#[test]
fn each_bad_upgrade_gets_its_status_and_reason() {
    switchyard_rt::block_on(async {
        let addr = start(WsServerConfig::default()).await;
        let good = upgrade_request(addr, "");
        let cases: &[(String, u16, &str)] = &[
            (good.replacen("GET", "POST", 1), 405, "must be a GET"),
            (
                good.replace("Connection: Upgrade", "Connection: keep-alive"),
                400,
                "Connection: upgrade",
            ),
            (
                good.replace("Upgrade: websocket", "Upgrade: h2c"),
                400,
                "Upgrade: websocket",
            ),
            (good.replace("Version: 13", "Version: 8"), 426, "only 13"),
            (
                good.replace("dGhlIHNhbXBsZSBub25jZQ==", "short"),
                400,
                "malformed Sec-WebSocket-Key",
            ),
            (
                good.replace("Sec-WebSocket-Key", "X-Not-Key"),
                400,
                "missing Sec-WebSocket-Key",
            ),
            (
                upgrade_request(addr, "Origin: https://evil.example\r\n"),
                403,
                "origin not allowed",
            ),
        ];
        for (request, want, reason) in cases {
            let r = raw_exchange(addr, request.as_bytes());
            assert_eq!(status(&r), *want, "{request}\n---\n{r}");
            assert!(r.contains(reason), "no reason {reason:?} in {r}");
        }
        let r = raw_exchange(addr, good.replace("Version: 13", "Version: 8").as_bytes());
        assert!(r.contains("sec-websocket-version: 13"), "{r}");
    })
}

#[test]
fn origins_follow_the_policy() {
    switchyard_rt::block_on(async {
        let addr = start(WsServerConfig::default()).await;
        let same = raw_exchange(
            addr,
            upgrade_request(addr, &format!("Origin: http://{addr}\r\n")).as_bytes(),
        );
        assert_eq!(status(&same), 101);

        let config =
            WsServerConfig::default().origins(OriginPolicy::allow(["https://app.example"]));
        let addr = start(config).await;
        let listed = raw_exchange(
            addr,
            upgrade_request(addr, "Origin: https://app.example\r\n").as_bytes(),
        );
        assert_eq!(status(&listed), 101);
        let other = raw_exchange(
            addr,
            upgrade_request(addr, "Origin: https://other.example\r\n").as_bytes(),
        );
        assert_eq!(status(&other), 403);

        let addr = start(WsServerConfig::default().origins(OriginPolicy::AllowAny)).await;
        let any = raw_exchange(
            addr,
            upgrade_request(addr, "Origin: https://other.example\r\n").as_bytes(),
        );
        assert_eq!(status(&any), 101);
    })
}

#[test]
fn extra_headers_are_sent_and_cannot_inject() {
    switchyard_rt::block_on(async {
        let config = WsServerConfig::default()
            .extra_header("X-Served-By", "switchyard")
            .unwrap();
        assert!(WsServerConfig::default()
            .extra_header("X-Evil", "a\r\nSet-Cookie: x=1")
            .is_err());
        assert!(WsServerConfig::default()
            .extra_header("Bad Name", "v")
            .is_err());
        let addr = start(config).await;
        let r = raw_exchange(addr, upgrade_request(addr, "").as_bytes());
        assert!(r.contains("x-served-by: switchyard\r\n"), "{r}");
    })
}
