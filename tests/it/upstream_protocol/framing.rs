//! HTTP/1.1 framing to and from backends: chunked, close-delimited, HEAD/204/100, bodies and streams.

use super::*;

#[tokio::test]
async fn a_chunked_answer_arrives_whole_and_its_connection_is_reused() {
    let (_gw, server, up) = setup().await;
    let c = client();
    for _ in 0..3 {
        let r = get(&c, &server.url("/prod/chunked")).await;
        assert_eq!(r.status, 200, "{}", r.text());
        assert_eq!(r.text(), "hello, world");
        let cookies: Vec<_> = r.headers.get_all("set-cookie").iter().collect();
        assert_eq!(cookies, ["a=1", "b=2"]);
        assert!(r.header("x-trailer").is_none());
    }
    assert_eq!(
        up.connections(),
        1,
        "the keep-alive connection was not reused"
    );
}

#[tokio::test]
async fn a_content_length_beside_chunked_is_ignored_and_not_relayed() {
    let (_gw, server, up) = setup().await;
    let c = client();
    let r = get(&c, &server.url("/prod/both")).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.text(), "hello");
    assert_ne!(r.header("content-length"), Some("3"));
    // A backend that sends both is not trusted with the next request.
    let r = get(&c, &server.url("/prod/both")).await;
    assert_eq!(r.text(), "hello");
    assert_eq!(up.connections(), 2);
}

#[tokio::test]
async fn an_answer_delimited_by_closing_arrives_whole_and_its_connection_is_not_reused() {
    let (_gw, server, up) = setup().await;
    let c = client();
    for _ in 0..2 {
        let r = get(&c, &server.url("/prod/close")).await;
        assert_eq!(r.status, 200);
        assert_eq!(r.text(), "until close");
    }
    assert_eq!(up.connections(), 2);
}

#[tokio::test]
async fn head_204_and_an_interim_100_have_no_body_and_keep_the_connection() {
    let (_gw, server, up) = setup().await;
    let c = client();
    let r = send(&c, "HEAD", &server.url("/prod/head"), &[], Bytes::new()).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.header("content-length"), Some("1234"));
    assert!(r.body.is_empty());
    let r = get(&c, &server.url("/prod/nocontent")).await;
    assert_eq!(r.status, 204);
    assert_eq!(r.header("x-empty"), Some("yes"));
    assert!(r.body.is_empty());
    let r = get(&c, &server.url("/prod/continue")).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.text(), "after");
    assert_eq!(up.connections(), 1);
}

#[tokio::test]
async fn request_bodies_keep_their_bytes_and_get_the_right_framing() {
    let (_gw, server, up) = setup().await;
    let c = client();
    let r = get(&c, &server.url("/prod/echo")).await;
    assert_eq!(r.header("x-framing"), Some("none"));
    let r = send(&c, "POST", &server.url("/prod/echo"), &[], Bytes::new()).await;
    assert_eq!(r.header("x-framing"), Some("length 0"));
    let r = send(&c, "POST", &server.url("/prod/echo"), &[], "small").await;
    assert_eq!(r.header("x-framing"), Some("length 5"));
    assert_eq!(r.text(), "small");
    // Larger than gw buffers: streamed with the client's length.
    let big: Vec<u8> = (0..BIG).map(|i| (i % 253) as u8).collect();
    let r = send(&c, "PUT", &server.url("/prod/echo"), &[], big.clone()).await;
    assert_eq!(r.status, 200);
    assert_eq!(
        r.header("x-framing"),
        Some(format!("length {BIG}").as_str())
    );
    assert_eq!(r.body.as_ref(), big.as_slice());
    assert_eq!(up.last().method, "PUT");
}

#[tokio::test]
async fn a_body_of_unknown_length_is_sent_on_chunked() {
    let (_gw, server, up) = setup().await;
    let mut s = TcpStream::connect(server.addr).await.unwrap();
    s.write_all(b"POST /prod/echo HTTP/1.1\r\nHost: gw\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n")
        .await
        .unwrap();
    let mut expected = Vec::new();
    for i in 0..20u8 {
        let piece = vec![b'a' + i; 5000];
        s.write_all(format!("{:x}\r\n", piece.len()).as_bytes())
            .await
            .unwrap();
        s.write_all(&piece).await.unwrap();
        s.write_all(b"\r\n").await.unwrap();
        expected.extend_from_slice(&piece);
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    s.write_all(b"0\r\n\r\n").await.unwrap();
    let mut answer = Vec::new();
    tokio::time::timeout(Duration::from_secs(10), s.read_to_end(&mut answer))
        .await
        .unwrap()
        .unwrap();
    let answer = String::from_utf8_lossy(&answer);
    assert!(answer.starts_with("HTTP/1.1 200 OK\r\n"), "{answer}");
    let seen = up.last();
    assert_eq!(seen.path, "/echo");
    assert_eq!(seen.framing, "chunked");
    assert_eq!(seen.body, expected);
}

#[tokio::test]
async fn a_large_answer_streams_through_intact() {
    let (_gw, server, _up) = setup().await;
    let r = get(&client(), &server.url("/prod/big")).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.body.len(), BIG);
    assert!(r
        .body
        .iter()
        .enumerate()
        .all(|(i, b)| *b == (i % 251) as u8));
}

/// A backend answer that is still coming is relayed as it comes: its first chunk reaches the
/// client while the backend holds the rest back.
#[tokio::test]
async fn a_streamed_answer_is_relayed_as_it_arrives() {
    let (_gw, server, up) = setup().await;
    let mut c = TcpStream::connect(server.addr).await.unwrap();
    c.write_all(b"GET /prod/trickle HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .await
        .unwrap();
    let mut buf = Vec::new();
    let seen = tokio::time::timeout(
        Duration::from_secs(5),
        fill_until(&mut c, &mut buf, b"first"),
    )
    .await
    .expect("the first chunk was held back until the answer ended");
    assert!(seen.is_some(), "{}", String::from_utf8_lossy(&buf));
    let text = String::from_utf8_lossy(&buf);
    assert!(text.starts_with("HTTP/1.1 200 OK\r\n"), "{text}");
    assert!(!text.contains("last"), "{text}");
    up.release.notify_one();
    tokio::time::timeout(Duration::from_secs(5), c.read_to_end(&mut buf))
        .await
        .expect("the answer did not end")
        .unwrap();
    let text = String::from_utf8_lossy(&buf);
    assert!(text.ends_with("4\r\nlast\r\n0\r\n\r\n"), "{text}");
}

#[tokio::test]
async fn a_pooled_connection_the_backend_closed_is_replaced_not_failed() {
    let (_gw, server, up) = setup().await;
    let c = client();
    // Each /drop answer promises keep-alive, then the backend closes: gw notices before reuse.
    for i in 0..10 {
        let r = get(&c, &server.url("/prod/drop")).await;
        assert_eq!(r.status, 200, "request {i}: {}", r.text());
        assert_eq!(r.text(), "drop");
    }
    assert_eq!(up.connections(), 10);
    tokio::time::sleep(Duration::from_millis(50)).await;
    let r = send(&c, "POST", &server.url("/prod/echo"), &[], "after").await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.text(), "after");
    assert_eq!(up.last().connection, 11);
    assert_eq!(up.last().body, b"after");
}

#[tokio::test]
async fn an_idempotent_request_on_a_connection_that_dies_under_it_is_sent_again() {
    let (_gw, server, up) = setup().await;
    let c = client();
    // /flaky answers the first request of a connection and drops the connection on the second,
    // without a byte: the race every keep-alive client meets when a backend's idle timer fires.
    let r = get(&c, &server.url("/prod/flaky")).await;
    assert_eq!(r.text(), "flaky");
    let r = get(&c, &server.url("/prod/flaky")).await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.text(), "flaky");
    assert_eq!(
        up.connections(),
        2,
        "the GET was not sent again on a new connection"
    );
    let seen: Vec<usize> = up
        .seen
        .lock()
        .unwrap()
        .iter()
        .map(|s| s.connection)
        .collect();
    assert_eq!(seen, [1, 1, 2]);
    // A POST may have been acted on: it is not sent twice, and the client gets AWS's 500.
    let r = send(&c, "POST", &server.url("/prod/flaky"), &[], "once").await;
    assert_eq!(r.status, 500, "{}", r.text());
    assert_eq!(r.text(), r#"{"message": "Internal server error"}"#);
    let posts = up
        .seen
        .lock()
        .unwrap()
        .iter()
        .filter(|s| s.method == "POST")
        .count();
    assert_eq!(posts, 1);
}

#[tokio::test]
async fn bytes_a_backend_sends_on_an_idle_connection_never_answer_a_later_request() {
    let (_gw, server, up) = setup().await;
    let c = client();
    let r = get(&c, &server.url("/prod/chatty")).await;
    assert_eq!(r.text(), "ok");
    tokio::time::sleep(Duration::from_millis(60)).await;
    let r = get(&c, &server.url("/prod/echo")).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.header("x-framing"), Some("none"), "{}", r.text());
    assert_ne!(r.text(), "forged");
    assert_eq!(up.connections(), 2);
}

#[tokio::test]
async fn a_backend_that_answers_before_reading_a_large_body_is_relayed() {
    // Refuses every request from its head alone (as a backend checking credentials would) and
    // closes without reading the body.
    let up = common::raw_upstream(|mut s| async move {
        if common::read_head(&mut s).await.is_some() {
            let _ = s
                .write_all(b"HTTP/1.1 401 Unauthorized\r\nContent-Length: 12\r\nConnection: close\r\n\r\nunauthorized")
                .await;
        }
    })
    .await;
    let (_gw, server) = serve_proxy_to(up);
    // Large enough that the kernel cannot buffer it all before the backend closes.
    let body = vec![b'x'; 8 * 1024 * 1024];
    let r = send(&client(), "POST", &server.url("/prod/upload"), &[], body).await;
    assert_eq!(r.status, 401, "{}", r.text());
    assert_eq!(r.text(), "unauthorized");
}

#[tokio::test]
async fn a_gateway_error_decided_before_a_large_body_is_read_reaches_the_client() {
    // No backend is involved: the stage does not exist, so gw answers from the head alone and
    // never reads the body. Every round must read the 404, never a reset connection.
    let (_gw, server) = serve_proxy_to("127.0.0.1:9".parse().unwrap());
    let client = client();
    for round in 0..5 {
        let body = vec![b'x'; 8 * 1024 * 1024];
        let r = send(&client, "POST", &server.url("/nostage/upload"), &[], body).await;
        assert_eq!(r.status, 404, "round {round}: {}", r.text());
        assert_eq!(r.header("x-amzn-ErrorType"), Some("NotFoundException"));
    }
}

#[tokio::test]
async fn a_body_over_10_mb_is_refused_even_when_the_backend_answers_without_reading_it() {
    // Answers 200 from the head alone and keeps the connection open without reading the body.
    let up = common::raw_upstream(|mut s| async move {
        if common::read_head(&mut s).await.is_some() {
            let _ = s
                .write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
                .await;
            tokio::time::sleep(Duration::from_secs(30)).await;
        }
    })
    .await;
    let (_gw, server) = serve_proxy_to(up);
    // Of unknown length (chunked), so only counting the bytes can find it too large.
    assert_eq!(
        chunked_post_status(&server, 11 * 1024 * 1024).await,
        "HTTP/1.1 413 Payload Too Large"
    );
    // Within the limit, the backend's early answer is relayed.
    assert_eq!(
        chunked_post_status(&server, 3 * 1024 * 1024).await,
        "HTTP/1.1 200 OK"
    );
}

#[tokio::test]
async fn chunked_answers_split_at_random_arrive_exactly() {
    let (_gw, server, up) = setup().await;
    let c = client();
    // 60 seeded cases; a failure names its seed.
    for seed in 0..60u64 {
        let (body, _) = random_chunked(seed);
        let r = get(&c, &server.url(&format!("/prod/random/{seed}"))).await;
        assert_eq!(r.status, 200, "seed {seed}: {}", r.text());
        assert!(
            r.body.as_ref() == body.as_slice(),
            "seed {seed}: body differs"
        );
    }
    // Every answer ended cleanly, so one connection carried them all.
    assert_eq!(up.connections(), 1);
}

#[tokio::test]
async fn the_backends_fields_are_relayed_as_sent_and_gws_own_replace_theirs() {
    let (_gw, server, _up) = setup().await;
    // gw's own HTTP/1.1 path, and hyper's (which serves HTTP/1.0).
    for request in [
        "GET /prod/fields HTTP/1.1\r\nHost: gw\r\nConnection: close\r\n\r\n",
        "GET /prod/fields HTTP/1.0\r\nHost: gw\r\n\r\n",
    ] {
        let answer = exchange_raw(server.addr, request).await;
        let (head, body) = answer.split_once("\r\n\r\n").unwrap();
        assert_eq!(body, "ok", "{answer}");
        let fields: Vec<(String, String)> = head
            .lines()
            .skip(1)
            .map(|l| {
                let (n, v) = l.split_once(':').unwrap();
                (n.to_ascii_lowercase(), v.trim().to_string())
            })
            .collect();
        let all = |name: &str| -> Vec<&str> {
            fields
                .iter()
                .filter(|(n, _)| n == name)
                .map(|(_, v)| v.as_str())
                .collect()
        };
        assert_eq!(all("server"), ["up"], "{answer}");
        assert_eq!(all("date"), ["Mon, 01 Jan 2024 00:00:00 GMT"], "{answer}");
        assert_eq!(all("x-spaced"), ["v w"], "{answer}");
        assert_eq!(all("x-bare"), ["v"], "{answer}");
        assert_eq!(all("x-empty"), [""], "{answer}");
        assert_eq!(all("set-cookie"), ["a=1", "b=2"], "{answer}");
        assert_eq!(all("content-length"), ["2"], "{answer}");
        // Hop-by-hop fields, and the one `Connection` names, stay with the backend.
        assert!(all("x-private").is_empty(), "{answer}");
        assert!(all("keep-alive").is_empty(), "{answer}");
        // The fields gw sets on every answer replace the backend's of the same name.
        let ids = all("x-amzn-requestid");
        assert_eq!(ids.len(), 1, "{answer}");
        assert_ne!(ids[0], "theirs", "{answer}");
        assert_eq!(all("x-gw-canary"), ["false"], "{answer}");
        assert_eq!(all("x-gw-deployment").len(), 1, "{answer}");
    }
}
