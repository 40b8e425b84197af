//! A fault injector at the SDK's own seams, so the SDK's retry classifiers and retry
//! policy meet a real fault, not a mocked port.
//!
//! Two halves, because an interceptor alone cannot do every mode:
//!
//! - [`Tagger`], an SDK interceptor (`Intercept`) attached to every client with
//!   `.interceptor(..)`: before each attempt is sent it names the call on the request
//!   (the function whose client it is, and the service and operation from the SDK's
//!   own `Metadata`), which no transport can tell for S3's REST calls.
//! - [`FaultyHttpClient`], the SDK's HTTP client trait wrapped around the real one:
//!   it carries the fault out. Interceptors cannot: their hooks are synchronous (no
//!   waiting out an attempt timeout), and none can stop the request from reaching
//!   the service, so a throttle written over a real answer would be a write that
//!   happened while the caller was told it did not.
//!
//! The modes: [`Mode::Throttle`] and [`Mode::ServerError`] answer in place of the
//! service (the request never arrives: what a real throttle or 5xx from a front end
//! means); [`Mode::Timeout`] lets the request reach the service, which acts on it,
//! and then never delivers the answer, so the attempt timeout the test configures
//! fires: the ambiguous failure a real timeout is.

use std::{
    sync::{Arc, Mutex, MutexGuard},
    time::Duration,
};

use aws_smithy_runtime_api::{
    box_error::BoxError,
    client::{
        http::{
            HttpClient, HttpConnector, HttpConnectorFuture, HttpConnectorSettings,
            SharedHttpClient, SharedHttpConnector,
        },
        interceptors::{Intercept, context::BeforeTransmitInterceptorContextMut},
        orchestrator::{HttpRequest, HttpResponse, Metadata},
        result::ConnectorError,
        runtime_components::RuntimeComponents,
    },
    http::StatusCode,
};
use aws_smithy_types::{body::SdkBody, config_bag::ConfigBag};

/// How long a timed-out attempt's answer is held back: far past any attempt timeout,
/// so only the SDK's timeout ends the wait.
const HELD_BACK: Duration = Duration::from_secs(60);

/// What the injected fault looks like to the SDK.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Mode {
    /// The service's throttle: DynamoDB's `ProvisionedThroughputExceededException`
    /// (400), EventBridge's `ThrottlingException` (400), S3's `SlowDown` (503).
    Throttle,
    /// The service's internal error (500): `InternalServerError`,
    /// `InternalException`, S3's `InternalError`.
    ServerError,
    /// The request is acted on and its answer never arrives.
    Timeout,
}

impl Mode {
    /// Every mode, in the order the report lists them.
    pub const ALL: [Mode; 3] = [Mode::Throttle, Mode::ServerError, Mode::Timeout];

    /// Whether the service acted on the request before the fault (only a timeout).
    pub fn reaches_the_service(self) -> bool {
        self == Mode::Timeout
    }
}

/// How long the fault lasts.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Lasting {
    /// The first attempt of the call's first occurrence only: the SDK's retries
    /// should absorb it.
    Once,
    /// Every attempt of every occurrence of the call for the whole invocation in
    /// which it first occurs: the handler gets the error; the redelivery after it
    /// finds the service well again.
    Invocation,
}

/// One AWS call: which function's client made it, and the SDK's names for it.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Call {
    /// `api`, `ingest`, `publish` or `sweep`.
    pub function: &'static str,
    /// The SDK's service name (`DynamoDB`, `S3`, `EventBridge`).
    pub service: String,
    /// The SDK's operation name (`PutItem`, `GetObject`, …).
    pub operation: String,
}

impl std::fmt::Display for Call {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}.{}", self.function, self.service, self.operation)
    }
}

/// Where a case aims its fault.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Aim {
    /// The call that fails.
    pub call: Call,
    /// How it fails.
    pub mode: Mode,
    /// For how long.
    pub lasting: Lasting,
}

impl std::fmt::Display for Aim {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} × {:?} × {:?}", self.call, self.mode, self.lasting)
    }
}

#[derive(Debug, Default)]
struct State {
    aim: Option<Aim>,
    /// Distinct calls sent, in the order first sent.
    calls: Vec<Call>,
    /// Attempts sent (or put in a fault's way).
    attempts: usize,
    /// Attempts the fault replaced.
    fired: usize,
    /// The fault fired in the invocation running now.
    fired_this_invocation: bool,
    /// The fault is over (fired once, or its invocation ended).
    spent: bool,
}

/// One case's faults, shared by every client of its four functions.
#[derive(Clone, Debug, Default)]
pub struct Faults(Arc<Mutex<State>>);

impl Faults {
    /// Faults aimed at `aim`, or none (a dry run that only lists the calls).
    pub fn aimed(aim: Option<Aim>) -> Self {
        let faults = Self::default();
        faults.state().aim = aim;
        faults
    }

    fn state(&self) -> MutexGuard<'_, State> {
        // A panic while the lock is held fails the test anyway; the state stays usable.
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The interceptor that names `function`'s calls.
    pub fn tagger(&self, function: &'static str) -> Tagger {
        Tagger { function }
    }

    /// `inner`, failing the calls this case aims at.
    pub fn http_client(&self, inner: SharedHttpClient) -> SharedHttpClient {
        SharedHttpClient::new(FaultyHttpClient {
            inner,
            faults: self.clone(),
        })
    }

    /// Called by the test after every invocation of a function: a fault lasting an
    /// invocation is over once the invocation it fired in has ended.
    pub fn invocation_ended(&self) {
        let mut state = self.state();
        if state.fired_this_invocation {
            state.fired_this_invocation = false;
            if state
                .aim
                .as_ref()
                .is_some_and(|a| a.lasting == Lasting::Invocation)
            {
                state.spent = true;
            }
        }
    }

    /// Attempts the fault replaced so far.
    pub fn fired(&self) -> usize {
        self.state().fired
    }

    /// Attempts sent so far, faulted or not.
    pub fn attempts(&self) -> usize {
        self.state().attempts
    }

    /// Every distinct call sent so far, in the order first sent.
    pub fn calls(&self) -> Vec<Call> {
        self.state().calls.clone()
    }

    /// Records an attempt about to be sent, and answers the fault to put in its way.
    fn on_send(&self, call: Call) -> Option<Mode> {
        let mut state = self.state();
        state.attempts += 1;
        if !state.calls.contains(&call) {
            state.calls.push(call.clone());
        }
        if state.spent {
            return None;
        }
        let aim = state.aim.clone().filter(|aim| aim.call == call)?;
        state.fired += 1;
        state.fired_this_invocation = true;
        if aim.lasting == Lasting::Once {
            state.spent = true;
        }
        Some(aim.mode)
    }
}

/// The interceptor that names each attempt's call on its request, for
/// [`FaultyHttpClient`] to read.
#[derive(Debug, Clone)]
pub struct Tagger {
    function: &'static str,
}

impl Intercept for Tagger {
    fn name(&self) -> &'static str {
        "airlock-sdk-fault-tagger"
    }

    // Runs once per attempt, after signing: each retry is tagged afresh.
    fn modify_before_transmit(
        &self,
        context: &mut BeforeTransmitInterceptorContextMut<'_>,
        _runtime_components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        if let Some(metadata) = cfg.load::<Metadata>() {
            let call = Call {
                function: self.function,
                service: metadata.service().to_owned(),
                operation: metadata.name().to_owned(),
            };
            context.request_mut().add_extension(call);
        }
        Ok(())
    }
}

/// The SDK's HTTP client, failing the attempts [`Faults`] aims at.
#[derive(Debug)]
struct FaultyHttpClient {
    inner: SharedHttpClient,
    faults: Faults,
}

impl HttpClient for FaultyHttpClient {
    fn http_connector(
        &self,
        settings: &HttpConnectorSettings,
        components: &RuntimeComponents,
    ) -> SharedHttpConnector {
        SharedHttpConnector::new(FaultyConnector {
            inner: self.inner.http_connector(settings, components),
            faults: self.faults.clone(),
        })
    }
}

#[derive(Debug)]
struct FaultyConnector {
    inner: SharedHttpConnector,
    faults: Faults,
}

impl HttpConnector for FaultyConnector {
    fn call(&self, request: HttpRequest) -> HttpConnectorFuture {
        let Some(call) = request.extension::<Call>().cloned() else {
            return self.inner.call(request);
        };
        match self.faults.on_send(call.clone()) {
            None => self.inner.call(request),
            Some(Mode::Timeout) => {
                let sent = self.inner.call(request);
                HttpConnectorFuture::new(async move {
                    // The service acts on the request; its answer is held back until
                    // the SDK's attempt timeout gives up on it.
                    let _answer = sent.await;
                    tokio::time::sleep(HELD_BACK).await;
                    Err(ConnectorError::timeout(
                        "injected: the answer never came".into(),
                    ))
                })
            }
            Some(mode) => HttpConnectorFuture::ready(Ok(refusal(&call.service, mode))),
        }
    }
}

/// The answer the service gives when it throttles or fails inside, in its protocol.
fn refusal(service: &str, mode: Mode) -> HttpResponse {
    let (status, content_type, body) = match (service, mode) {
        ("S3", Mode::Throttle) => (503, "application/xml", s3_error("SlowDown")),
        ("S3", _) => (500, "application/xml", s3_error("InternalError")),
        ("DynamoDB", Mode::Throttle) => (
            400,
            "application/x-amz-json-1.0",
            json_error("com.amazonaws.dynamodb.v20120810#ProvisionedThroughputExceededException"),
        ),
        ("DynamoDB", _) => (
            500,
            "application/x-amz-json-1.0",
            json_error("com.amazonaws.dynamodb.v20120810#InternalServerError"),
        ),
        (_, Mode::Throttle) => (
            400,
            "application/x-amz-json-1.1",
            json_error("ThrottlingException"),
        ),
        (_, _) => (
            500,
            "application/x-amz-json-1.1",
            json_error("InternalException"),
        ),
    };
    let status = StatusCode::try_from(status).expect("a valid HTTP status");
    let mut response = HttpResponse::new(status, SdkBody::from(body));
    response.headers_mut().insert("content-type", content_type);
    response
}

fn s3_error(code: &str) -> String {
    format!(
        r#"<?xml version="1.0" encoding="UTF-8"?><Error><Code>{code}</Code><Message>injected fault</Message><RequestId>INJECTED</RequestId></Error>"#
    )
}

fn json_error(kind: &str) -> String {
    format!(r#"{{"__type":"{kind}","message":"injected fault"}}"#)
}
