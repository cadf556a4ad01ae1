//! Never an open proxy: origins, tokens, credentials and the connection
//! limit are enforced before any upgrade; metrics and files only when
//! asked for, and files never outside their directory.

mod support;

use support::{blocking, status};

use std::sync::Arc;
use switchyard_ws::WsMessage;

use futures::{SinkExt, StreamExt};
use switchyard_bridge::{
    Auth, ErrorKind, ListenerConfig, RouteConfig, Scheme, TargetSpec, TokenMap,
};
use switchyard_ws::{ClientConfig, OriginPolicy, WsServerConfig};

#[test]
fn pages_of_other_origins_are_refused_unless_allowed() {
    switchyard_rt::block_on(async {
        let echo = support::tcp_echo().await;
        let open = support::listener(Scheme::Ws, "/x", &format!("tcp://{echo}"));
        let allowing = support::listener(Scheme::Ws, "/x", &format!("tcp://{echo}"))
            .websocket_options(|ws| {
                let origins = OriginPolicy::allow(["https://app.example.com"]);
                ws.websocket(WsServerConfig::default().origins(origins))
            });
        let bridge = support::start(vec![open, allowing]).await;
        let (same_host, allow_list) = (bridge.addrs[0], bridge.addrs[1]);
        let evil = blocking(move || {
            support::upgrade_status(same_host, "/x", "Origin: https://evil.example\r\n")
        })
        .await;
        assert_eq!(status(&evil), 403, "{evil}");
        let own = format!("Origin: http://{same_host}\r\n");
        let ok = blocking(move || support::upgrade_status(same_host, "/x", &own)).await;
        assert_eq!(status(&ok), 101, "{ok}");
        let app = blocking(move || {
            support::upgrade_status(allow_list, "/x", "Origin: https://app.example.com\r\n")
        })
        .await;
        assert_eq!(status(&app), 101, "{app}");
        let other = blocking(move || {
            support::upgrade_status(allow_list, "/x", "Origin: https://other.example.com\r\n")
        })
        .await;
        assert_eq!(status(&other), 403, "{other}");
    })
}

#[test]
fn a_token_picks_its_target_and_unknown_tokens_are_refused() {
    switchyard_rt::block_on(async {
        let (first, second) = (support::udp_echo().await, support::tcp_echo().await);
        let tokens =
            TokenMap::parse(&format!("one: udp://{first}\ntwo: tcp://{second}\n")).unwrap();
        let listen = "ws://127.0.0.1:0/connect".parse().unwrap();
        let listener = ListenerConfig::new(listen).route(RouteConfig::new(
            "/connect",
            TargetSpec::Tokens(Arc::new(tokens)),
        ));
        let bridge = support::start(vec![listener]).await;
        let addr = bridge.addrs[0];
        for path in ["/connect?token=three", "/connect", "/connect?token="] {
            let refused = blocking(move || support::upgrade_status(addr, path, "")).await;
            assert_eq!(status(&refused), 403, "{path}: {refused}");
        }
        assert_eq!(bridge.metrics.errors(ErrorKind::Refused), 3);
        for token in ["one", "two"] {
            let mut client = switchyard_ws::connect(&format!("ws://{addr}/connect?token={token}"))
                .await
                .unwrap();
            client.send(token.into()).await.unwrap();
            assert_eq!(
                client.next().await.unwrap().unwrap(),
                WsMessage::binary(token.as_bytes().to_vec())
            );
        }
        assert_eq!(bridge.metrics.sessions_total(), 2);
    })
}

#[test]
fn credentials_are_required_when_configured() {
    switchyard_rt::block_on(async {
        let echo = support::tcp_echo().await;
        let bearer = support::listener(Scheme::Ws, "/x", &format!("tcp://{echo}"))
            .websocket_options(|ws| ws.auth(Some(Auth::Bearer("s3cret".into()))).metrics(true));
        let basic = support::listener(Scheme::Ws, "/x", &format!("tcp://{echo}"))
            .websocket_options(|ws| ws.auth(Some("basic:alice:pw".parse().unwrap())));
        let bridge = support::start(vec![bearer, basic]).await;
        let (b1, b2) = (bridge.addrs[0], bridge.addrs[1]);

        let none = blocking(move || support::upgrade_status(b1, "/x", "")).await;
        assert_eq!(status(&none), 401, "{none}");
        assert!(
            none.to_ascii_lowercase()
                .contains("www-authenticate: bearer"),
            "{none}"
        );
        let wrong =
            blocking(move || support::upgrade_status(b1, "/x", "Authorization: Bearer guess\r\n"))
                .await;
        assert_eq!(status(&wrong), 401);
        // Metrics are behind the credentials too; health is not.
        assert_eq!(
            status(&blocking(move || support::http_get(b1, "/metrics", "")).await),
            401
        );
        assert_eq!(
            status(&blocking(move || support::http_get(b1, "/healthz", "")).await),
            200
        );

        let config = ClientConfig::default().header("Authorization", "Bearer s3cret");
        let mut client = switchyard_ws::connect_with(&format!("ws://{b1}/x"), &config)
            .await
            .unwrap();
        client.send("in".into()).await.unwrap();
        assert_eq!(
            client.next().await.unwrap().unwrap(),
            WsMessage::binary("in")
        );

        // "alice:pw" in base64.
        let good = blocking(move || {
            support::upgrade_status(b2, "/x", "Authorization: Basic YWxpY2U6cHc=\r\n")
        })
        .await;
        assert_eq!(status(&good), 101, "{good}");
        let bad = blocking(move || {
            support::upgrade_status(b2, "/x", "Authorization: Basic YWxpY2U6cHg=\r\n")
        })
        .await;
        assert_eq!(status(&bad), 401, "{bad}");
    })
}

#[test]
fn over_the_connection_limit_is_503_and_the_slot_comes_back() {
    switchyard_rt::block_on(async {
        let echo = support::tcp_echo().await;
        let listener = support::listener(Scheme::Ws, "/x", &format!("tcp://{echo}"))
            .websocket_options(|ws| {
                let http = ws.http.clone().max_connections(2);
                ws.http(http)
            });
        let bridge = support::start(vec![listener]).await;
        let url = format!("ws://{}/x", bridge.addrs[0]);
        let mut first = switchyard_ws::connect(&url).await.unwrap();
        let _second = switchyard_ws::connect(&url).await.unwrap();
        let addr = bridge.addrs[0];
        let third = blocking(move || support::upgrade_status(addr, "/x", "")).await;
        assert_eq!(status(&third), 503, "{third}");
        first.close(1000, "done").await.unwrap();
        while first.next().await.is_some() {}
        let started = std::time::Instant::now();
        loop {
            let again = blocking(move || support::upgrade_status(addr, "/x", "")).await;
            if status(&again) == 101 {
                break;
            }
            assert!(
                started.elapsed() < std::time::Duration::from_secs(5),
                "{again}"
            );
            switchyard_rt::sleep(std::time::Duration::from_millis(50)).await;
        }
    })
}

#[test]
fn metrics_are_off_unless_enabled_and_count_sessions_bytes_as_they_go_and_durations() {
    switchyard_rt::block_on(async {
        let echo = support::tcp_echo().await;
        let off = support::listener(Scheme::Ws, "/x", &format!("tcp://{echo}"));
        let on = support::listener(Scheme::Ws, "/x", &format!("tcp://{echo}"))
            .websocket_options(|ws| ws.metrics(true));
        let bridge = support::start(vec![off, on]).await;
        let (off, on) = (bridge.addrs[0], bridge.addrs[1]);
        assert_eq!(
            status(&blocking(move || support::http_get(off, "/metrics", "")).await),
            404
        );
        assert_eq!(
            status(&blocking(move || support::http_get(off, "/healthz", "")).await),
            404
        );

        let mut client = switchyard_ws::connect(&format!("ws://{on}/x"))
            .await
            .unwrap();
        client.send(vec![1u8; 1000].into()).await.unwrap();
        assert_eq!(client.next().await.unwrap().unwrap().len(), 1000);
        // Bytes count while the session runs, not only when it ends: as soon as
        // the relay has seen the echo's flush done, which can be just after the
        // client has it.
        let counted = "switchyard_bridge_bytes_to_client_total 1000\n";
        let started = std::time::Instant::now();
        let mut text = blocking(move || support::http_get(on, "/metrics", "")).await;
        while !text.contains(counted) && started.elapsed() < std::time::Duration::from_secs(5) {
            switchyard_rt::sleep(std::time::Duration::from_millis(20)).await;
            text = blocking(move || support::http_get(on, "/metrics", "")).await;
        }
        for line in [
            "switchyard_bridge_sessions_open 1\n",
            "switchyard_bridge_bytes_to_target_total 1000\n",
            "switchyard_bridge_bytes_to_client_total 1000\n",
            "switchyard_bridge_session_duration_seconds_count 0\n",
        ] {
            assert!(text.contains(line), "{line:?} not in\n{text}");
        }
        switchyard_rt::sleep(std::time::Duration::from_millis(150)).await;
        client.close(1000, "").await.unwrap();
        while client.next().await.is_some() {}
        let started = std::time::Instant::now();
        while bridge.metrics.sessions_open() != 0 {
            assert!(started.elapsed() < std::time::Duration::from_secs(10));
            switchyard_rt::sleep(std::time::Duration::from_millis(20)).await;
        }
        let text = blocking(move || support::http_get(on, "/metrics", "")).await;
        assert_eq!(status(&text), 200, "{text}");
        assert!(
            text.contains("switchyard_bridge_sessions_total 1\n"),
            "{text}"
        );
        assert!(
            text.contains("switchyard_bridge_sessions_open 0\n"),
            "{text}"
        );
        assert!(
            text.contains("switchyard_bridge_bytes_to_target_total 1000\n"),
            "{text}"
        );
        assert!(
            text.contains("switchyard_bridge_bytes_to_client_total 1000\n"),
            "{text}"
        );
        assert!(
            text.contains("switchyard_bridge_errors_total{kind=\"connect\"} 0\n"),
            "{text}"
        );
        // One session of over 0.1 s (and far under 10 s) in the histogram.
        for line in [
            "switchyard_bridge_session_duration_seconds_bucket{le=\"0.1\"} 0\n",
            "switchyard_bridge_session_duration_seconds_bucket{le=\"10\"} 1\n",
            "switchyard_bridge_session_duration_seconds_bucket{le=\"+Inf\"} 1\n",
            "switchyard_bridge_session_duration_seconds_count 1\n",
        ] {
            assert!(text.contains(line), "{line:?} not in\n{text}");
        }
    })
}

#[test]
fn static_files_are_served_and_never_from_outside_the_directory() {
    switchyard_rt::block_on(async {
        let dir = support::temp_dir("web");
        std::fs::write(dir.join("index.html"), "<h1>bridge</h1>").unwrap();
        std::fs::write(dir.join("app.js"), "console.log(1)").unwrap();
        let echo = support::tcp_echo().await;
        let listener = support::listener(Scheme::Ws, "/x", &format!("tcp://{echo}"))
            .websocket_options(|ws| ws.web(Some(dir.clone())));
        let bridge = support::start(vec![listener]).await;
        let addr = bridge.addrs[0];
        let index = blocking(move || support::http_get(addr, "/", "")).await;
        assert_eq!(status(&index), 200);
        assert!(
            index.contains("text/html") && index.ends_with("<h1>bridge</h1>"),
            "{index}"
        );
        let js = blocking(move || support::http_get(addr, "/app.js", "")).await;
        assert!(js.contains("text/javascript"), "{js}");
        for escape in [
            "/../../../../etc/passwd",
            "/%2e%2e/%2e%2e/etc/passwd",
            "/..%2f..%2fetc/passwd",
        ] {
            let response = blocking(move || support::http_get(addr, escape, "")).await;
            assert!(
                [400, 404].contains(&status(&response)),
                "{escape}: {response}"
            );
            assert!(!response.contains("root:"), "{escape}");
        }
        // The WebSocket route still wins over the files at its path.
        let mut client = switchyard_ws::connect(&format!("ws://{addr}/x"))
            .await
            .unwrap();
        client.send("ws".into()).await.unwrap();
        assert_eq!(
            client.next().await.unwrap().unwrap(),
            WsMessage::binary("ws")
        );
        let _ = std::fs::remove_dir_all(dir);
    })
}

#[test]
fn a_message_over_the_listener_limit_closes_with_1009() {
    switchyard_rt::block_on(async {
        let echo = support::tcp_echo().await;
        let listener = support::listener(Scheme::Ws, "/x", &format!("tcp://{echo}"))
            .websocket_options(|ws| ws.websocket(WsServerConfig::default().max_message(1000)));
        let bridge = support::start(vec![listener]).await;
        let mut client = switchyard_ws::connect(&format!("ws://{}/x", bridge.addrs[0]))
            .await
            .unwrap();
        client.send(vec![1u8; 1000].into()).await.unwrap();
        assert_eq!(client.next().await.unwrap().unwrap().len(), 1000);
        client.send(vec![1u8; 1001].into()).await.unwrap();
        // Closed by the bridge, not echoed.
        let next =
            switchyard_rt::timeout(std::time::Duration::from_secs(10), "close", client.next())
                .await
                .unwrap();
        assert!(!matches!(next, Some(Ok(_))), "{next:?}");
        assert_eq!(client.peer_close().map(|c| c.code), Some(1009));
    })
}

#[test]
fn a_file_over_the_web_limit_is_413() {
    switchyard_rt::block_on(async {
        let dir = support::temp_dir("web-large");
        std::fs::write(
            dir.join("big.bin"),
            vec![0u8; switchyard_bridge::ws::http::MAX_FILE as usize + 1],
        )
        .unwrap();
        std::fs::write(dir.join("ok.bin"), vec![0u8; 1000]).unwrap();
        let echo = support::tcp_echo().await;
        let listener = support::listener(Scheme::Ws, "/x", &format!("tcp://{echo}"))
            .websocket_options(|ws| ws.web(Some(dir.clone())));
        let bridge = support::start(vec![listener]).await;
        let addr = bridge.addrs[0];
        assert_eq!(
            status(&blocking(move || support::http_get(addr, "/big.bin", "")).await),
            413
        );
        assert_eq!(
            status(&blocking(move || support::http_get(addr, "/ok.bin", "")).await),
            200
        );
        let _ = std::fs::remove_dir_all(dir);
    })
}
