//! What the data plane hands back to the connection: the response, a proxied answer's relayed
//! backend fields beside it, and the fields gw sets on every answer (AWS's request ids, which
//! deployment answered and whether it was the canary).

use crate::net::body::Body;
use crate::net::headers::Relayed;
use http::{HeaderName, HeaderValue, Response};

/// Response header naming the deployment that answered.
pub const DEPLOYMENT_HEADER: &str = "x-gw-deployment";
/// Response header saying whether the canary answered (`true` / `false`).
pub const CANARY_HEADER: &str = "x-gw-canary";
/// Response header naming the function version that answered (`NAME:VERSION`).
pub const FUNCTION_HEADER: &str = "x-gw-function-version";
/// AWS's id headers.
const REQUEST_ID_NAME: &str = "x-amzn-requestid";
const APIGW_ID_NAME: &str = "x-amz-apigw-id";

/// The request's ids, as text.
pub(super) struct Ids {
    request_id: [u8; crate::aws::ids::REQUEST_ID_LEN],
    extended_request_id: [u8; crate::aws::ids::EXTENDED_REQUEST_ID_LEN],
}

impl Ids {
    pub(super) fn new() -> Ids {
        Ids {
            request_id: crate::aws::ids::request_id(),
            extended_request_id: crate::aws::ids::extended_request_id(),
        }
    }

    pub(super) fn request_id(&self) -> &str {
        std::str::from_utf8(&self.request_id).unwrap_or_default()
    }

    pub(super) fn extended_request_id(&self) -> &str {
        std::str::from_utf8(&self.extended_request_id).unwrap_or_default()
    }
}

/// What [`handle`] answers: the response; for a proxied answer, the backend's fields beside it
/// (see [`Relayed`]; `None` for everything gw makes itself); and the fields gw sets on every
/// answer, also beside it. The client side writes those two as they are; gw's fields replace any
/// field of their names, in the map or relayed.
pub struct Answer {
    pub response: Response<Body>,
    pub relayed: Option<Relayed>,
    pub fields: GatewayFields,
}

/// The fields gw sets on an answer: the request ids, and which deployment answered.
pub struct GatewayFields {
    ids: Ids,
    /// `x-amz-apigw-id` too: every answer of an API (the management API's carry only
    /// `x-amzn-RequestId`).
    extended: bool,
    /// `x-gw-deployment` and `x-gw-canary`: an answer a deployment gave (unless switched off).
    deployment: Option<(HeaderValue, bool)>,
    /// `x-gw-function-version`: the function version that answered (unless switched off).
    function: Option<HeaderValue>,
}

/// The [`crate::net::headers::name_bit`]s of the names of [`GatewayFields`].
pub const GATEWAY_NAME_BITS: u64 = crate::net::headers::name_bit(REQUEST_ID_NAME.as_bytes())
    | crate::net::headers::name_bit(APIGW_ID_NAME.as_bytes())
    | crate::net::headers::name_bit(DEPLOYMENT_HEADER.as_bytes())
    | crate::net::headers::name_bit(CANARY_HEADER.as_bytes())
    | crate::net::headers::name_bit(FUNCTION_HEADER.as_bytes());

impl GatewayFields {
    pub(super) fn new(
        ids: Ids,
        deployment: Option<(HeaderValue, bool)>,
        function: Option<HeaderValue>,
    ) -> GatewayFields {
        GatewayFields {
            ids,
            extended: true,
            deployment,
            function,
        }
    }

    /// The fields of an answer no API gave (the management API's, gw's own control surface's):
    /// `x-amzn-RequestId` only.
    pub fn request_id_only() -> GatewayFields {
        GatewayFields {
            ids: Ids::new(),
            extended: false,
            deployment: None,
            function: None,
        }
    }

    /// The fields, as names and values.
    pub fn iter(&self) -> impl Iterator<Item = (&'static str, &[u8])> {
        let extended = self
            .extended
            .then_some((APIGW_ID_NAME, &self.ids.extended_request_id[..]));
        let deployment = self.deployment.iter().flat_map(|(id, canary)| {
            let canary: &[u8] = if *canary { b"true" } else { b"false" };
            [(DEPLOYMENT_HEADER, id.as_bytes()), (CANARY_HEADER, canary)]
        });
        let function = self
            .function
            .iter()
            .map(|f| (FUNCTION_HEADER, f.as_bytes()));
        std::iter::once((REQUEST_ID_NAME, &self.ids.request_id[..]))
            .chain(extended)
            .chain(deployment)
            .chain(function)
    }

    /// Whether `name` (any case) is one of the fields.
    pub fn sets(&self, name: &[u8]) -> bool {
        self.iter()
            .any(|(n, _)| n.as_bytes().eq_ignore_ascii_case(name))
    }
}

impl Answer {
    /// The response with gw's fields and the relayed ones in its header map.
    pub fn into_response(self) -> Response<Body> {
        let mut response = self.response;
        let h = response.headers_mut();
        for (name, value) in self.fields.iter() {
            if let Ok(value) = HeaderValue::from_bytes(value) {
                h.insert(HeaderName::from_static(name), value);
            }
        }
        if let Some(relayed) = self.relayed {
            crate::net::headers::materialize(&mut response, relayed);
        }
        response
    }
}

thread_local! {
    /// The `x-gw-deployment` values this worker sent last. A clone of one is a reference count
    /// only this thread writes (a value kept in the shared snapshot would have every worker
    /// write its count, twice per request), and the id is not copied per response.
    static DEPLOYMENT_VALUES: std::cell::RefCell<Vec<HeaderValue>> =
        const { std::cell::RefCell::new(Vec::new()) };
}

/// The `x-gw-deployment` value for `id`.
pub(super) fn deployment_value(id: &str) -> Option<HeaderValue> {
    /// Production and canary of a stage or two.
    const KEPT: usize = 4;
    DEPLOYMENT_VALUES.with_borrow_mut(|kept| {
        if let Some(v) = kept.iter().find(|v| v.as_bytes() == id.as_bytes()) {
            return Some(v.clone());
        }
        let v = HeaderValue::from_str(id).ok()?;
        if kept.len() >= KEPT {
            kept.remove(0);
        }
        kept.push(v.clone());
        Some(v)
    })
}
