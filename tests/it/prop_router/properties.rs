//! The router against a reference matcher, and the Lambda response parser, on arbitrary input.

use super::*;

#[test]
fn router_matches_the_reference_on_arbitrary_paths() {
    let api = api();
    let router = Router::new(&api);
    let tried = AtomicUsize::new(0);
    let matched = AtomicUsize::new(0);
    let result = runner().run(&(method(), raw_path()), |(method, path)| {
        tried.fetch_add(1, Ordering::Relaxed);
        let got = routed(&router, &api, &method, &path)?;
        let want = reference(&api, &method, &path);
        prop_assert_eq!(&got, &want, "{} {:?}", method, path);
        if got.is_some() {
            matched.fetch_add(1, Ordering::Relaxed);
        }
        Ok(())
    });
    eprintln!(
        "router vs reference: {} cases tried, {} matched a route, 0 panics",
        tried.load(Ordering::Relaxed),
        matched.load(Ordering::Relaxed)
    );
    result.unwrap();
}

#[test]
fn anything_under_files_is_the_greedy_route_unless_a_literal_matches() {
    let api = api();
    let router = Router::new(&api);
    let tried = AtomicUsize::new(0);
    let strategy = (
        method(),
        prop::collection::vec(segment(), 1..6),
        0usize..3,
        any::<bool>(),
    );
    let result = runner().run(&strategy, |(method, segs, extra_slashes, trail)| {
        let sep = "/".repeat(1 + extra_slashes);
        let mut path = format!("/files{sep}{}", segs.join(&sep));
        if trail {
            path.push('/');
        }
        let decoded: Vec<String> = path["/files".len()..]
            .split('/')
            .filter(|s| !s.is_empty())
            .map(decode)
            .collect();
        prop_assume!(!decoded.is_empty());
        tried.fetch_add(1, Ordering::Relaxed);
        let got = routed(&router, &api, &method, &path)?;
        if !SEVEN.contains(&method.as_str()) {
            prop_assert_eq!(got, None, "{} {:?}", method, path);
        } else if method == "GET" && decoded == ["special"] {
            prop_assert_eq!(got.map(|a| a.resource), Some("/files/special".to_string()));
        } else {
            let got = got
                .ok_or_else(|| TestCaseError::fail(format!("{method} {path:?} matched nothing")))?;
            prop_assert_eq!(&got.resource, "/files/{path+}", "{} {:?}", method, path);
            prop_assert_eq!(got.params, vec![("path".to_string(), decoded.join("/"))]);
        }
        Ok(())
    });
    eprintln!(
        "greedy /files: {} cases tried",
        tried.load(Ordering::Relaxed)
    );
    result.unwrap();
}

#[test]
fn empty_segments_and_unreserved_encodings_do_not_change_the_match() {
    let api = api();
    let router = Router::new(&api);
    let strategy = (
        method(),
        raw_path(),
        prop::collection::vec(any::<bool>(), 0..64),
    );
    let tried = AtomicUsize::new(0);
    let result = runner().run(&strategy, |(method, path, encode)| {
        tried.fetch_add(1, Ordering::Relaxed);
        let base = routed(&router, &api, &method, &path)?;
        // Doubling every slash and adding a trailing one.
        let doubled = format!("{}/", path.replace('/', "//"));
        prop_assert_eq!(&routed(&router, &api, &method, &doubled)?, &base);
        // Percent-encoding letters and digits (never '%' or '/').
        let mut flags = encode.into_iter().cycle();
        let encoded: String = path
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() && flags.next().unwrap_or(false) {
                    format!("%{:02x}", c as u32)
                } else {
                    c.to_string()
                }
            })
            .collect();
        // `%4` + encoded hex digit would form a new escape: skip inputs that already hold a '%'.
        if !path.contains('%') {
            prop_assert_eq!(
                &routed(&router, &api, &method, &encoded)?,
                &base,
                "{:?}",
                encoded
            );
        }
        Ok(())
    });
    eprintln!(
        "slash/encoding invariance: {} cases tried",
        tried.load(Ordering::Relaxed)
    );
    result.unwrap();
}

#[test]
fn router_examples() {
    let api = api();
    let router = Router::new(&api);
    let r = |m: &str, p: &str| reference(&api, m, p).map(|a| (a.resource, a.params));
    let f = |m: &str, p: &str| {
        router
            .find(&api, m, p)
            .map(|a| (a.resource.path.clone(), a.path_params))
    };
    let s = |v: &str| v.to_string();
    assert_eq!(f("GET", "/pets/mine"), Some((s("/pets/mine"), vec![])));
    assert_eq!(
        f("DELETE", "/pets/mine"),
        Some((s("/pets/{id}"), vec![(s("id"), s("mine"))]))
    );
    assert_eq!(f("GET", "/pets/%6d%69ne/"), Some((s("/pets/mine"), vec![])));
    assert_eq!(
        f("PATCH", "/pets/1/toys"),
        Some((s("/pets/{id}/toys"), vec![(s("id"), s("1"))]))
    );
    assert_eq!(
        f("GET", "/files/%2e%2e/%2e%2e/etc/passwd"),
        Some((
            s("/files/{path+}"),
            vec![(s("path"), s("../../etc/passwd"))]
        ))
    );
    assert_eq!(
        f("GET", "/files/a%2Fb/%zz/%ff"),
        Some((
            s("/files/{path+}"),
            vec![(s("path"), s("a/b/%zz/\u{fffd}"))]
        ))
    );
    assert_eq!(f("GET", "/files"), None);
    assert_eq!(f("GET", "/files/"), None);
    assert_eq!(f("POST", "/"), None);
    assert_eq!(f("GET", "//"), Some((s("/"), vec![])));
    for (m, p) in [
        ("GET", "/static/%00/%c3%28"),
        ("GET", "/a/b/c/d/"),
        ("PUT", "/pets/x/toys/y"),
    ] {
        assert_eq!(f(m, p), r(m, p), "{m} {p}");
        assert!(f(m, p).is_some(), "{m} {p}");
    }
}

#[test]
fn parse_response_never_panics_and_statuses_are_valid() {
    let tried = AtomicUsize::new(0);
    let ok = AtomicUsize::new(0);
    let strategy = (
        any::<bool>(),
        stdout(),
        prop::option::of(prop_oneof![
            Just("image/png".to_string()),
            Just("*/*".to_string()),
            Just(",".to_string()),
            Just(";".to_string()),
            any::<String>(),
        ]),
        prop::collection::vec(
            prop_oneof![
                Just("*/*".to_string()),
                Just("image/*".to_string()),
                any::<String>()
            ],
            0..3,
        ),
    );
    let result = runner().run(&strategy, |(v2, bytes, accept, binary)| {
        tried.fetch_add(1, Ordering::Relaxed);
        let version = if v2 {
            PayloadVersion::V2
        } else {
            PayloadVersion::V1
        };
        if check_parse(version, &bytes, accept.as_deref(), &binary)? {
            ok.fetch_add(1, Ordering::Relaxed);
        }
        Ok(())
    });
    eprintln!(
        "parse_response: {} cases tried, {} accepted, 0 panics",
        tried.load(Ordering::Relaxed),
        ok.load(Ordering::Relaxed)
    );
    result.unwrap();
}

#[test]
fn parse_response_examples() {
    let p = |v, s: &str| parse_response(v, s.as_bytes(), None, &[]);
    assert_eq!(
        p(PayloadVersion::V1, r#"{"statusCode": 404}"#)
            .unwrap()
            .status,
        404
    );
    assert_eq!(
        p(PayloadVersion::V1, r#"{"statusCode": "201"}"#)
            .unwrap()
            .status,
        201
    );
    for bad in [
        r#"{"statusCode": 99}"#,
        r#"{"statusCode": 600}"#,
        r#"{"statusCode": -200}"#,
        r#"{"statusCode": 200.5}"#,
        r#"{"statusCode": 65736}"#,
        r#"{"statusCode": "18446744073709551816"}"#,
        r#"{"headers": {"bad name": "x"}}"#,
        r#"{"headers": {"x": "a\r\nb"}}"#,
        r#"[1]"#,
        "",
    ] {
        assert!(p(PayloadVersion::V1, bad).is_err(), "{bad}");
    }
    // V2: a JSON value without statusCode is the body.
    assert_eq!(p(PayloadVersion::V2, "[1, 2]").unwrap().status, 200);
    let deep = "[".repeat(100_000) + &"]".repeat(100_000);
    assert!(p(PayloadVersion::V2, &deep).is_err());
}
