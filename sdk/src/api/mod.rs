//! The wire model: request and response types and the route table, with no I/O.
//!
//! Everything here is shared by the client, the mock server and the proxy. It
//! builds without the `client` feature.

pub mod aidenid;
pub mod authflow;
pub mod flows;
pub mod reliability;
pub mod routes;
pub mod secret;
pub mod validation;

use serde::Serialize;

pub use routes::{Api, Credential, KeyPlacement, Method, Params, Route};

/// A request to one route: which route it is, its parameters (its
/// `Serialize` form, secrets exposed only on the wire) and how its response
/// decodes.
///
/// The organization API key is not part of any request type: the transport
/// (or the proxy) places it where [`Route::credential`] says.
pub trait Endpoint: Serialize {
    /// The decoded success response.
    type Response: FromResponse;

    /// The route this request calls.
    fn route(&self) -> &'static Route;

    /// The concrete path (the route's template with parameters filled in).
    fn path(&self) -> String {
        self.route().path.to_owned()
    }

    /// A session token to send as `Authorization: Bearer …`, for routes whose
    /// credential is [`Credential::SessionBearer`].
    fn bearer(&self) -> Option<&secrecy::SecretString> {
        None
    }
}

/// Percent-encode `id` as exactly one path segment: `/`, `?`, `#`, `%`,
/// spaces and every other reserved character are escaped, so an id can
/// never address another route.
///
/// ```
/// assert_eq!(authflow::api::path_segment("a/b c"), "a%2Fb%20c");
/// ```
pub fn path_segment(id: &str) -> String {
    const SEGMENT: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
        .remove(b'_')
        .remove(b'-')
        .remove(b'.')
        .remove(b'~');
    percent_encoding::utf8_percent_encode(id, SEGMENT).to_string()
}

/// Decoding a success response body.
pub trait FromResponse: Sized {
    /// Decode from the raw body. The error is serde's message.
    fn from_body(body: &[u8]) -> Result<Self, serde_json::Error>;
}

/// A response whose body carries nothing the caller needs (AuthFlow answers
/// `validate` and `changePassword` with a bare status).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Empty;

impl FromResponse for Empty {
    fn from_body(_: &[u8]) -> Result<Self, serde_json::Error> {
        Ok(Empty)
    }
}

/// An HTML page (AuthFlow `verify-email` answers with one).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HtmlPage(pub String);

impl FromResponse for HtmlPage {
    fn from_body(body: &[u8]) -> Result<Self, serde_json::Error> {
        Ok(HtmlPage(String::from_utf8_lossy(body).into_owned()))
    }
}

/// A text body (lossy UTF-8), e.g. a Mermaid diagram.
impl FromResponse for String {
    fn from_body(body: &[u8]) -> Result<Self, serde_json::Error> {
        Ok(String::from_utf8_lossy(body).into_owned())
    }
}

/// Implements [`FromResponse`] as JSON decoding for the listed types.
macro_rules! json_response {
    ($($t:ty),* $(,)?) => {
        $(impl $crate::api::FromResponse for $t {
            fn from_body(body: &[u8]) -> Result<Self, serde_json::Error> {
                serde_json::from_slice(body)
            }
        })*
    };
}
pub(crate) use json_response;

json_response!(serde_json::Value);
