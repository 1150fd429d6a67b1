//! JSON Web Tokens as Cognito user pools issue them and API Gateway checks them: RS256 signatures
//! by a key of the pool's JWKS, `exp`, the pool's issuer, `token_use`, the app clients, and an
//! access token's `scope`. Also the other half, for gw's local user pools: RSA keys, their JWKS,
//! and signed ID and access tokens.
//!
//! Pure: keys come in as JWKS JSON or key material, tokens as text; no I/O.

use base64::Engine as _;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde_json::{Map, Value};
use std::collections::HashMap;

/// Why a token is refused: `Unauthorized` (401) or `Forbidden` (403, a valid token without a
/// required scope).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    Unauthorized(String),
    Forbidden(String),
}

/// The keys of one issuer, by `kid`.
#[derive(Clone, Default)]
pub struct Keys {
    by_kid: HashMap<String, DecodingKey>,
}

impl std::fmt::Debug for Keys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Keys")
            .field("kids", &self.by_kid.keys().collect::<Vec<_>>())
            .finish()
    }
}

impl Keys {
    /// The RSA keys of a JWKS document (`{"keys": [{"kid", "kty": "RSA", "n", "e"}, ...]}`);
    /// other key types are skipped. An error says what is wrong with the document.
    pub fn from_jwks(jwks: &Value) -> Result<Keys, String> {
        let keys = jwks
            .get("keys")
            .and_then(Value::as_array)
            .ok_or("not a JWKS document: it has no \"keys\" list")?;
        let mut by_kid = HashMap::new();
        for k in keys {
            // Only RSA signing keys for RS256.
            if k.get("kty").and_then(Value::as_str) != Some("RSA")
                || k.get("use")
                    .and_then(Value::as_str)
                    .is_some_and(|u| u != "sig")
                || k.get("alg")
                    .and_then(Value::as_str)
                    .is_some_and(|a| a != "RS256")
            {
                continue;
            }
            let (Some(kid), Some(n), Some(e)) = (
                k.get("kid").and_then(Value::as_str),
                k.get("n").and_then(Value::as_str),
                k.get("e").and_then(Value::as_str),
            ) else {
                return Err("an RSA key of the JWKS lacks kid, n or e".into());
            };
            let key = DecodingKey::from_rsa_components(n, e)
                .map_err(|err| format!("RSA key {kid} of the JWKS is invalid: {err}"))?;
            if by_kid.insert(kid.to_string(), key).is_some() {
                return Err(format!("the JWKS has two keys with kid {kid}"));
            }
        }
        if by_kid.is_empty() {
            return Err("the JWKS has no RSA key".into());
        }
        Ok(Keys { by_kid })
    }

    pub fn is_empty(&self) -> bool {
        self.by_kid.is_empty()
    }
}

/// What a method's authorizer requires of a token.
#[derive(Debug, Clone, Default)]
pub struct Rules<'a> {
    /// The `iss` a token must have.
    pub issuer: &'a str,
    /// App client ids (`aud` of an ID token, `client_id` of an access token); empty: any.
    pub audiences: &'a [String],
    /// The method's `authorizationScopes`: an access token with one of them in `scope`.
    pub scopes: &'a [String],
    /// Cognito's `token_use` check (`id` or `access`); off for plain JWT authorizers.
    pub cognito: bool,
}

/// Checks `token` against `keys` and `rules`; answers its claims.
pub fn verify(
    token: &str,
    keys: &Keys,
    rules: &Rules,
    now_s: u64,
) -> Result<Map<String, Value>, Refusal> {
    let bad = |why: &str| Refusal::Unauthorized(why.to_string());
    let header = jsonwebtoken::decode_header(token).map_err(|e| bad(&format!("not a JWT: {e}")))?;
    if header.alg != Algorithm::RS256 {
        return Err(bad(&format!("signed with {:?}, not RS256", header.alg)));
    }
    let kid = header
        .kid
        .as_deref()
        .ok_or_else(|| bad("the token names no key (kid)"))?;
    let key = keys
        .by_kid
        .get(kid)
        .ok_or_else(|| bad(&format!("no key {kid} in the issuer's JWKS")))?;
    let mut validation = Validation::new(Algorithm::RS256);
    // exp, iss and aud are checked below, against `now_s` and the rules, with AWS's choices.
    validation.validate_exp = false;
    validation.validate_aud = false;
    validation.required_spec_claims.clear();
    let data = jsonwebtoken::decode::<Map<String, Value>>(token, key, &validation)
        .map_err(|e| bad(&format!("signature: {e}")))?;
    let claims = data.claims;
    let exp = claims
        .get("exp")
        .and_then(Value::as_u64)
        .ok_or_else(|| bad("no exp"))?;
    if exp <= now_s {
        return Err(bad("expired"));
    }
    if claims
        .get("nbf")
        .and_then(Value::as_u64)
        .is_some_and(|nbf| nbf > now_s)
    {
        return Err(bad("not valid yet (nbf)"));
    }
    if claims.get("iss").and_then(Value::as_str) != Some(rules.issuer) {
        return Err(bad("wrong issuer"));
    }
    let token_use = claims.get("token_use").and_then(Value::as_str);
    if rules.cognito && !matches!(token_use, Some("id" | "access")) {
        return Err(bad("token_use is neither id nor access"));
    }
    let is_access = token_use == Some("access");
    if !rules.audiences.is_empty() {
        let audience_ok = |v: Option<&Value>| match v {
            Some(Value::String(s)) => rules.audiences.iter().any(|a| a == s),
            Some(Value::Array(list)) => list
                .iter()
                .filter_map(Value::as_str)
                .any(|s| rules.audiences.iter().any(|a| a == s)),
            _ => false,
        };
        let ok = if rules.cognito && is_access {
            audience_ok(claims.get("client_id"))
        } else {
            audience_ok(claims.get("aud"))
        };
        if !ok {
            return Err(bad("wrong audience"));
        }
    }
    if !rules.scopes.is_empty() {
        // Scopes need an access token (an ID token has none): 401, as API Gateway answers.
        if rules.cognito && !is_access {
            return Err(bad("the method needs an access token with a scope"));
        }
        let granted = claims.get("scope").and_then(Value::as_str).unwrap_or("");
        let has = granted
            .split_whitespace()
            .any(|s| rules.scopes.iter().any(|r| r == s));
        if !has {
            return Err(Refusal::Forbidden(format!(
                "the token's scopes ({granted}) include none of {}",
                rules.scopes.join(", ")
            )));
        }
    }
    Ok(claims)
}

/// The claims as REST APIs hand them on (`$context.authorizer.claims.*`,
/// `requestContext.authorizer.claims`): every value a string; lists as `[a, b]`.
pub fn claims_as_strings(claims: &Map<String, Value>) -> Vec<(String, String)> {
    claims
        .iter()
        .map(|(k, v)| {
            let text = match v {
                Value::String(s) => s.clone(),
                Value::Array(items) => format!(
                    "[{}]",
                    items
                        .iter()
                        .map(|i| i.as_str().map_or_else(|| i.to_string(), str::to_string))
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
                other => other.to_string(),
            };
            (k.clone(), text)
        })
        .collect()
}

/// A Cognito user pool's issuer: `https://cognito-idp.REGION.amazonaws.com/POOL_ID` (the region
/// is the pool id's prefix).
pub fn cognito_issuer(pool_id: &str) -> String {
    let region = pool_id.split('_').next().unwrap_or("us-east-1");
    format!("https://cognito-idp.{region}.amazonaws.com/{pool_id}")
}

/// The pool id a Cognito provider ARN names
/// (`arn:aws:cognito-idp:REGION:ACCOUNT:userpool/POOL_ID`).
pub fn pool_of_arn(arn: &str) -> Option<&str> {
    arn.rsplit_once("userpool/")
        .map(|(_, id)| id)
        .filter(|id| !id.is_empty())
}

/// An RSA signing key of a local pool: PKCS#1 DER, and its public parts for the JWKS.
#[derive(Clone)]
pub struct SigningKey {
    pub kid: String,
    der: Vec<u8>,
    n: Vec<u8>,
    e: Vec<u8>,
}

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SigningKey")
            .field("kid", &self.kid)
            .finish_non_exhaustive()
    }
}

fn b64url(bytes: &[u8]) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

impl SigningKey {
    /// A new 2048-bit RSA key.
    pub fn generate(kid: String) -> Result<SigningKey, String> {
        use rsa::pkcs1::EncodeRsaPrivateKey;
        use rsa::traits::PublicKeyParts;
        let mut rng = rsa::rand_core::OsRng;
        let key = rsa::RsaPrivateKey::new(&mut rng, 2048)
            .map_err(|e| format!("cannot generate an RSA key: {e}"))?;
        let der = key
            .to_pkcs1_der()
            .map_err(|e| format!("cannot encode the RSA key: {e}"))?
            .as_bytes()
            .to_vec();
        Ok(SigningKey {
            kid,
            der,
            n: key.n().to_bytes_be(),
            e: key.e().to_bytes_be(),
        })
    }

    /// The key as stored: `{"kid", "der" (base64), "n", "e" (base64url)}`.
    pub fn to_json(&self) -> Value {
        serde_json::json!({
            "kid": self.kid,
            "der": base64::engine::general_purpose::STANDARD.encode(&self.der),
            "n": b64url(&self.n),
            "e": b64url(&self.e),
        })
    }

    pub fn from_json(v: &Value) -> Result<SigningKey, String> {
        let text = |k: &str| {
            v.get(k)
                .and_then(Value::as_str)
                .ok_or_else(|| format!("the stored key lacks {k}"))
        };
        let decode_url = |s: &str| {
            base64::engine::general_purpose::URL_SAFE_NO_PAD
                .decode(s)
                .map_err(|e| format!("the stored key is corrupt: {e}"))
        };
        Ok(SigningKey {
            kid: text("kid")?.to_string(),
            der: base64::engine::general_purpose::STANDARD
                .decode(text("der")?)
                .map_err(|e| format!("the stored key is corrupt: {e}"))?,
            n: decode_url(text("n")?)?,
            e: decode_url(text("e")?)?,
        })
    }

    /// The public half as a JWK.
    pub fn jwk(&self) -> Value {
        serde_json::json!({
            "kid": self.kid,
            "alg": "RS256",
            "kty": "RSA",
            "use": "sig",
            "n": b64url(&self.n),
            "e": b64url(&self.e),
        })
    }

    /// A token with these claims, signed RS256 with this key.
    pub fn sign(&self, claims: &Map<String, Value>) -> Result<String, String> {
        let mut header = Header::new(Algorithm::RS256);
        header.kid = Some(self.kid.clone());
        let key = EncodingKey::from_rsa_der(&self.der);
        jsonwebtoken::encode(&header, claims, &key).map_err(|e| format!("cannot sign: {e}"))
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use serde_json::json;

    fn claims(v: Value) -> Map<String, Value> {
        v.as_object().unwrap().clone()
    }

    #[test]
    fn tokens_are_checked_as_cognito_authorizers_check_them() {
        let key = SigningKey::generate("k1".into()).unwrap();
        let keys = Keys::from_jwks(&json!({"keys": [key.jwk()]})).unwrap();
        let iss = cognito_issuer("us-east-1_abc");
        assert_eq!(
            iss,
            "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_abc"
        );
        let now = 1_000_000;
        let id = |extra: Value| {
            let mut c = claims(
                json!({"sub": "alice", "iss": iss, "token_use": "id", "aud": "web", "exp": now + 60}),
            );
            c.extend(claims(extra));
            key.sign(&c).unwrap()
        };
        let clients = vec!["web".to_string()];
        let rules = Rules {
            issuer: &iss,
            audiences: &clients,
            scopes: &[],
            cognito: true,
        };
        let ok = verify(&id(json!({})), &keys, &rules, now).unwrap();
        assert_eq!(ok["sub"], "alice");
        let refused =
            |t: &str, r: &Rules| matches!(verify(t, &keys, r, now), Err(Refusal::Unauthorized(_)));
        assert!(refused(&id(json!({"exp": now - 1})), &rules), "expired");
        assert!(
            refused(&id(json!({"iss": "https://evil"})), &rules),
            "issuer"
        );
        assert!(refused(&id(json!({"aud": "other"})), &rules), "audience");
        assert!(
            refused(&id(json!({"token_use": "refresh"})), &rules),
            "token_use"
        );
        assert!(refused("not.a.jwt", &rules));
        assert!(
            refused(&id(json!({"nbf": now + 60})), &rules),
            "not valid yet"
        );
        // A JWKS's encryption keys and other algorithms are not signing keys.
        let mut enc = key.jwk();
        enc["use"] = json!("enc");
        assert!(Keys::from_jwks(&json!({"keys": [enc]})).is_err());
        assert!(
            Keys::from_jwks(&json!({"keys": [key.jwk(), key.jwk()]})).is_err(),
            "duplicate kid"
        );
        // Another key, same kid: the signature fails.
        let other = SigningKey::generate("k1".into()).unwrap();
        let forged = other
            .sign(&claims(
                json!({"sub": "x", "iss": iss, "token_use": "id", "aud": "web", "exp": now + 60}),
            ))
            .unwrap();
        assert!(refused(&forged, &rules), "signature");
        // Scopes: an access token with one of them; without → 403; an ID token → 401.
        let scopes = vec!["pets/read".to_string()];
        let scoped = Rules {
            scopes: &scopes,
            ..rules.clone()
        };
        let access = |scope: &str| {
            key.sign(&claims(json!({"sub": "alice", "iss": iss, "token_use": "access", "client_id": "web", "scope": scope, "exp": now + 60}))).unwrap()
        };
        assert!(verify(&access("openid pets/read"), &keys, &scoped, now).is_ok());
        assert!(matches!(
            verify(&access("pets/write"), &keys, &scoped, now),
            Err(Refusal::Forbidden(_))
        ));
        assert!(refused(&id(json!({})), &scoped));
    }

    #[test]
    fn claims_reach_the_integration_as_strings() {
        let c = claims(json!({"sub": "a", "cognito:groups": ["admin", "dev"], "exp": 5}));
        let s = claims_as_strings(&c);
        assert!(s.contains(&("cognito:groups".into(), "[admin, dev]".into())));
        assert!(s.contains(&("exp".into(), "5".into())));
        assert_eq!(
            pool_of_arn("arn:aws:cognito-idp:us-east-1:123:userpool/us-east-1_X"),
            Some("us-east-1_X")
        );
    }
}
