//! The client's one error type.

use airlock_wire::Problem;

/// Why a call did not give the answer asked for.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// The base URL cannot be joined with the API's paths.
    #[error("{url:?} is not an http(s) URL")]
    InvalidUrl {
        /// What was given.
        url: String,
    },
    /// Nothing answered at the address (refused, unreachable, timed out).
    #[error("nothing answers at {url}: is the server running, and is the URL right?")]
    Unreachable {
        /// The URL tried.
        url: String,
        /// What the connection said.
        #[source]
        source: reqwest::Error,
    },
    /// The request or its answer broke off midway.
    #[error("{what} failed in transit")]
    Transport {
        /// Which call.
        what: String,
        /// What the HTTP client said.
        #[source]
        source: reqwest::Error,
    },
    /// The API refused, with a problem+json body.
    #[error("{} ({status}): {detail}", problem.title, status = problem.status, detail = problem.detail)]
    Problem {
        /// The body, as sent.
        problem: Box<Problem>,
    },
    /// An error answer without a problem body (the object store's, a proxy's).
    #[error("{what} answered {status}: {body}")]
    Status {
        /// Which call.
        what: String,
        /// The HTTP status.
        status: u16,
        /// The start of the body.
        body: String,
    },
    /// A success answer that is not the JSON the contract says.
    #[error("{what} answered JSON this client does not understand")]
    Decode {
        /// Which call.
        what: String,
        /// Why it did not parse.
        #[source]
        source: serde_json::Error,
    },
}

impl ClientError {
    /// The HTTP status of a refusal, if the server answered one.
    pub fn status(&self) -> Option<u16> {
        match self {
            Self::Problem { problem } => Some(problem.status),
            Self::Status { status, .. } => Some(*status),
            _ => None,
        }
    }

    /// Whether the server refused (4xx): asking again unchanged will not help.
    pub fn is_refusal(&self) -> bool {
        self.status()
            .is_some_and(|status| (400..500).contains(&status))
    }
}
