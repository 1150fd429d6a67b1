//! Property tests for the Lambda authorizer's pure parts (`gw::gateway::authorizer`): whatever a function
//! answers, reading it never panics and a valid policy is read back exactly; the IAM-style
//! wildcard agrees with a plain reference matcher on arbitrary Unicode.
//!
//! Short (CI):  cargo test --test prop_authorizer
//! Long:        GW_LONG_TESTS=1 cargo test --test prop_authorizer

use gw::gateway::authorizer::{evaluate, parse_answer, wildcard, Answer, Verdict};
use proptest::prelude::*;
use proptest::test_runner::Config;
use serde_json::{json, Value};

fn cases() -> u32 {
    if std::env::var("GW_LONG_TESTS").is_ok_and(|v| v == "1") {
        20_000
    } else {
        1_000
    }
}

/// Reference matcher: recursion over characters, exponential but obviously right.
fn reference(p: &[char], t: &[char]) -> bool {
    match p.split_first() {
        None => t.is_empty(),
        Some(('*', rest)) => (0..=t.len()).any(|i| reference(rest, &t[i..])),
        Some(('?', rest)) => !t.is_empty() && reference(rest, &t[1..]),
        Some((c, rest)) => t.first() == Some(c) && reference(rest, &t[1..]),
    }
}

/// Small alphabets (with a multi-byte letter) so that matches are common.
fn text() -> impl Strategy<Value = String> {
    proptest::collection::vec(
        prop_oneof![Just('a'), Just('b'), Just('/'), Just('é')],
        0..10,
    )
    .prop_map(|v| v.into_iter().collect())
}

fn pattern() -> impl Strategy<Value = String> {
    proptest::collection::vec(
        prop_oneof![
            Just('a'),
            Just('b'),
            Just('/'),
            Just('é'),
            Just('*'),
            Just('?')
        ],
        0..8,
    )
    .prop_map(|v| v.into_iter().collect())
}

fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        "[a-zA-Z*:/ ]{0,12}".prop_map(Value::from),
        Just(Value::from("Allow")),
        Just(Value::from("Deny")),
        Just(Value::from("execute-api:Invoke")),
        Just(Value::from("Unauthorized")),
    ];
    leaf.prop_recursive(4, 32, 6, |inner| {
        let keys = prop_oneof![
            Just("principalId".to_string()),
            Just("policyDocument".to_string()),
            Just("Statement".to_string()),
            Just("Effect".to_string()),
            Just("Action".to_string()),
            Just("Resource".to_string()),
            Just("context".to_string()),
            Just("errorMessage".to_string()),
            "[a-z]{1,6}",
        ];
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..4).prop_map(Value::from),
            proptest::collection::btree_map(keys, inner, 0..5)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

proptest! {
    #![proptest_config(Config { cases: cases(), ..Config::default() })]

    #[test]
    fn the_wildcard_agrees_with_the_reference(p in pattern(), t in text()) {
        let (pc, tc): (Vec<char>, Vec<char>) = (p.chars().collect(), t.chars().collect());
        prop_assert_eq!(wildcard(&p, &t), reference(&pc, &tc), "pattern {:?} text {:?}", p, t);
    }

    #[test]
    fn any_answer_is_read_without_panicking(v in json_value()) {
        let bytes = serde_json::to_vec(&v).unwrap();
        match parse_answer(&bytes) {
            Ok(d) => {
                // A decision always has a principal, and evaluating it is total.
                let _ = evaluate(&d.statements, "arn:aws:execute-api:us-east-1:0:a/s/GET/x");
            }
            Err(Answer::Unauthorized) => {
                prop_assert_eq!(v.get("errorMessage"), Some(&json!("Unauthorized")));
            }
            Err(Answer::Invalid(why)) => prop_assert!(!why.is_empty()),
        }
    }

    #[test]
    fn a_valid_policy_is_read_back_exactly(
        principal in "[a-z0-9|-]{1,12}",
        allow in any::<bool>(),
        resource in pattern(),
        key in "[a-z]{1,6}",
        number in any::<i32>(),
    ) {
        let answer = json!({
            "principalId": principal,
            "policyDocument": {"Version": "2012-10-17", "Statement": [
                {"Effect": if allow { "Allow" } else { "Deny" }, "Action": "execute-api:Invoke", "Resource": resource}
            ]},
            "context": {key.clone(): number}
        });
        let d = parse_answer(answer.to_string().as_bytes()).unwrap();
        prop_assert_eq!(&d.grant.principal_id, &principal);
        prop_assert_eq!(&d.grant.context, &vec![(key, number.to_string())]);
        let arn = "a/b";
        let expected = match (wildcard(&resource, arn), allow) {
            (true, true) => Verdict::Allow,
            (true, false) => Verdict::ExplicitDeny,
            (false, _) => Verdict::ImplicitDeny,
        };
        prop_assert_eq!(evaluate(&d.statements, arn), expected);
    }
}
