//! Bridge sessions on WebSockets another HTTP server accepted
//! (`BridgeRoute`): relayed as the bridge's own listeners relay theirs,
//! closed saying why, counted, and ended by the route's shutdown; on
//! switchyard's own `Router` beside other routes, and (with tokio compiled
//! in) on hyper, whose upgraded connection is handed over.

mod support;

use std::net::SocketAddr;
use std::time::Duration;

use futures::{SinkExt, StreamExt};
use switchyard_bridge::{BridgeRoute, RouteConfig, TargetSpec, TokenMap};
use switchyard_ws::http::{HttpServer, HttpServerConfig};
use switchyard_ws::{websocket, Router, WsServerConfig};

/// An application's server: its own page at `/`, and `route` at `/bridge`,
/// refusing (403) an upgrade the route has no target for, as the bridge
/// does.
async fn application(route: BridgeRoute) -> SocketAddr {
    application_with_shutdown(route).await.0
}

/// [`application`], and the signal that shuts that server down.
async fn application_with_shutdown(route: BridgeRoute) -> (SocketAddr, switchyard_rt::Shutdown) {
    let checked = route.clone();
    let router = Router::new()
        .page("/", "text/plain", "the application's page\n")
        .guard(move |head, _| {
            let refused = head.path == "/bridge" && checked.target(head).is_none();
            refused.then(|| {
                switchyard_ws::http::Response::text(http::StatusCode::FORBIDDEN, "no such token")
            })
        })
        .upgrade(
            "/bridge",
            websocket(WsServerConfig::default(), move |conn, request| {
                route.serve(conn, &request.head, request.peer)
            }),
        );
    let server = HttpServer::bind("127.0.0.1:0", HttpServerConfig::default(), router)
        .await
        .unwrap();
    let addr = server.local_addr().unwrap();
    let shutdown = server.shutdown();
    switchyard_rt::spawn(server.serve());
    (addr, shutdown)
}

fn route_to(target: SocketAddr) -> BridgeRoute {
    let target = TargetSpec::Fixed(format!("tcp://{target}").parse().unwrap());
    BridgeRoute::new(
        RouteConfig::new("/bridge", target),
        &WsServerConfig::default(),
    )
    .unwrap()
}

#[test]
fn a_handed_over_websocket_is_relayed_counted_and_closed_by_the_routes_shutdown() {
    switchyard_rt::block_on(async {
        let echo = support::tcp_echo().await;
        let route = route_to(echo);
        let (metrics, shutdown) = (route.metrics(), route.shutdown());
        let addr = application(route).await;
        assert!(support::blocking(move || support::http_get(addr, "/", ""))
            .await
            .contains("the application's page"));

        let mut client = switchyard_ws::connect(&format!("ws://{addr}/bridge"))
            .await
            .unwrap();
        client.send("through the bridge".into()).await.unwrap();
        let echoed = switchyard_rt::timeout(Duration::from_secs(10), "echo", client.next())
            .await
            .unwrap()
            .unwrap()
            .unwrap();
        assert_eq!(&echoed[..], b"through the bridge");
        assert_eq!(metrics.sessions_open(), 1);

        shutdown.trigger();
        let end = switchyard_rt::timeout(Duration::from_secs(10), "close", async {
            while client.next().await.is_some() {}
        });
        end.await.unwrap();
        assert_eq!(client.peer_close().map(|c| c.code), Some(1001));
        assert!(
            support::eventually(Duration::from_secs(5), || metrics.sessions_open() == 0).await,
            "the session was not counted closed"
        );
    });
}

#[test]
fn a_token_route_refuses_before_the_upgrade_and_closes_a_handed_over_stranger_with_1008() {
    switchyard_rt::block_on(async {
        let echo = support::tcp_echo().await;
        let tokens = TokenMap::parse(&format!("vnc: 127.0.0.1:{}\n", echo.port())).unwrap();
        let route = BridgeRoute::new(
            RouteConfig::new("/bridge", TargetSpec::Tokens(tokens.into())),
            &WsServerConfig::default(),
        )
        .unwrap();
        let addr = application(route.clone()).await;
        let status =
            support::blocking(move || support::upgrade_status(addr, "/bridge?token=nobody", ""))
                .await;
        assert!(status.starts_with("HTTP/1.1 403"), "{status}");

        let mut client = switchyard_ws::connect(&format!("ws://{addr}/bridge?token=vnc"))
            .await
            .unwrap();
        client.send("by token".into()).await.unwrap();
        let echoed = client.next().await.unwrap().unwrap();
        assert_eq!(&echoed[..], b"by token");

        // An application that hands over without asking first: 1008.
        let router = Router::new().upgrade(
            "/bridge",
            websocket(WsServerConfig::default(), move |conn, request| {
                route.serve(conn, &request.head, request.peer)
            }),
        );
        let server = HttpServer::bind("127.0.0.1:0", HttpServerConfig::default(), router)
            .await
            .unwrap();
        let unchecked = server.local_addr().unwrap();
        switchyard_rt::spawn(server.serve());
        let mut client = switchyard_ws::connect(&format!("ws://{unchecked}/bridge"))
            .await
            .unwrap();
        while client.next().await.is_some() {}
        assert_eq!(client.peer_close().map(|c| c.code), Some(1008));
    });
}

#[test]
fn a_route_that_cannot_run_on_handed_over_websockets_is_refused_saying_why() {
    let stdio = TargetSpec::Fixed("stdio".parse().unwrap());
    let error =
        BridgeRoute::new(RouteConfig::new("/term", stdio), &WsServerConfig::default()).unwrap_err();
    assert!(
        error.to_string().contains("stdio needs a bridge listener"),
        "{error}"
    );

    let tcp = TargetSpec::Fixed("tcp://127.0.0.1:9".parse().unwrap());
    let error = BridgeRoute::new(
        RouteConfig::new("/text", tcp).text(true),
        &WsServerConfig::default(),
    )
    .unwrap_err();
    assert!(error.to_string().contains("text messages need"), "{error}");
}

/// hyper on tokio answers the upgrade with switchyard's 101 and hands the
/// upgraded connection over: the session runs on the application's
/// runtime, relaying both ways.
#[cfg(feature = "tokio")]
#[test]
fn hyper_on_tokio_hands_its_upgraded_connection_to_a_bridge_route() {
    use http_body_util::Full;
    use hyper::body::Incoming;
    use hyper_util::rt::TokioIo;
    use std::sync::Arc;
    use tokio_util::compat::TokioAsyncReadCompatExt;

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let echo = support::tcp_echo().await;
        let route = Arc::new(route_to(echo));
        let websockets = Arc::new(WsServerConfig::default());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            while let Ok((tcp, peer)) = listener.accept().await {
                let (route, websockets) = (route.clone(), websockets.clone());
                let service =
                    hyper::service::service_fn(move |mut request: hyper::Request<Incoming>| {
                        let (route, websockets) = (route.clone(), websockets.clone());
                        async move {
                            let answer = switchyard_ws::upgrade_response(&request, &websockets);
                            if answer.status() == 101 {
                                let head = switchyard_ws::http::RequestHead::from_http(&request);
                                let upgrading = hyper::upgrade::on(&mut request);
                                tokio::spawn(async move {
                                    let io = TokioIo::new(upgrading.await.unwrap()).compat();
                                    let conn = switchyard_ws::WsConnection::upgraded(
                                        io,
                                        &websockets,
                                        &head,
                                    )
                                    .await;
                                    route.serve(conn, &head, peer).await;
                                });
                            }
                            Ok::<_, std::convert::Infallible>(answer.map(Full::new))
                        }
                    });
                tokio::spawn(
                    hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(tcp), service)
                        .with_upgrades(),
                );
            }
        });

        let mut client = switchyard_ws::connect(&format!("ws://{addr}/bridge"))
            .await
            .unwrap();
        for i in 0..100 {
            let msg = format!("message {i} through hyper");
            client.send(msg.clone().into()).await.unwrap();
            let echoed = tokio::time::timeout(Duration::from_secs(10), client.next())
                .await
                .unwrap()
                .unwrap()
                .unwrap();
            assert_eq!(&echoed[..], msg.as_bytes());
        }
    });
}

/// The application's server shutting down ends its handed-over sessions as
/// the route's own shutdown does: the client is told 1001.
#[test]
fn the_application_servers_shutdown_closes_its_bridge_sessions_with_1001() {
    switchyard_rt::block_on(async {
        let echo = support::tcp_echo().await;
        let route = route_to(echo);
        let metrics = route.metrics();
        let (addr, server_shutdown) = application_with_shutdown(route).await;
        let mut client = switchyard_ws::connect(&format!("ws://{addr}/bridge"))
            .await
            .unwrap();
        client.send("before".into()).await.unwrap();
        assert!(client.next().await.unwrap().is_ok());
        server_shutdown.trigger();
        let end = switchyard_rt::timeout(Duration::from_secs(10), "close", async {
            while client.next().await.is_some() {}
        });
        end.await.unwrap();
        assert_eq!(client.peer_close().map(|c| c.code), Some(1001));
        assert_eq!(
            metrics.errors(switchyard_bridge::ErrorKind::Client),
            0,
            "the session was cut, not closed"
        );
    });
}
