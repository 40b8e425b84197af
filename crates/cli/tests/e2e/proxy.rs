//! An HTTP forward proxy on 127.0.0.1 that the command is pointed at with
//! `HTTP_PROXY`: it forwards every request to the stack and notes each part PUT
//! (`X-Airlock-Part=N`), optionally slowing parts down (so a test can stop the
//! command midway) or damaging downloads (so a test sees a mismatch caught).

use std::{
    sync::{Arc, Mutex},
    time::Duration,
};

use axum::{
    Router,
    body::{Body, to_bytes},
    extract::{Request, State},
    http::{Method, StatusCode},
    response::Response,
};

/// What the proxy saw and how it behaves.
#[derive(Default)]
pub struct Settings {
    /// Each part PUT answered 200, by part number, in order.
    pub parts_stored: Mutex<Vec<u32>>,
    /// A pause before each part is forwarded.
    pub part_delay: Mutex<Duration>,
    /// Whether to flip a byte of every object download.
    pub damage_downloads: Mutex<bool>,
    /// Part PUTs being forwarded now, and the most there were at once.
    pub parts_in_flight: Mutex<(usize, usize)>,
    /// A part number whose next PUT is answered 503 without reaching the stack.
    pub fail_part_once: Mutex<Option<u32>>,
}

/// The running proxy.
pub struct Proxy {
    pub url: String,
    pub settings: Arc<Settings>,
}

impl Proxy {
    pub async fn start() -> Self {
        let settings = Arc::new(Settings::default());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let app = Router::new()
            .fallback(forward)
            .with_state(Arc::clone(&settings));
        tokio::spawn(async move { axum::serve(listener, app).await });
        Self { url, settings }
    }

    /// The part numbers stored through the proxy since the last call.
    pub fn take_parts(&self) -> Vec<u32> {
        std::mem::take(&mut *self.settings.parts_stored.lock().unwrap())
    }

    pub fn parts_so_far(&self) -> usize {
        self.settings.parts_stored.lock().unwrap().len()
    }

    pub fn slow_parts(&self, delay: Duration) {
        *self.settings.part_delay.lock().unwrap() = delay;
    }

    pub fn damage_downloads(&self) {
        *self.settings.damage_downloads.lock().unwrap() = true;
    }

    /// The next PUT of part `number` fails (503), as a dropped connection would.
    pub fn fail_part_once(&self, number: u32) {
        *self.settings.fail_part_once.lock().unwrap() = Some(number);
    }

    /// The most part PUTs that were in flight at once.
    pub fn most_parts_at_once(&self) -> usize {
        self.settings.parts_in_flight.lock().unwrap().1
    }
}

/// Counts a part PUT in flight while it lives.
struct InFlight<'a>(&'a Mutex<(usize, usize)>);

impl<'a> InFlight<'a> {
    fn enter(counter: &'a Mutex<(usize, usize)>) -> Self {
        let mut count = counter.lock().unwrap();
        count.0 += 1;
        count.1 = count.1.max(count.0);
        Self(counter)
    }
}

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.0.lock().unwrap().0 -= 1;
    }
}

/// The request as the client sent it, to its absolute URL, and the answer back.
async fn forward(State(settings): State<Arc<Settings>>, request: Request) -> Response {
    let (head, body) = request.into_parts();
    let url = head.uri.to_string();
    let part = part_number(&url).filter(|_| head.method == Method::PUT);
    let _in_flight = part.map(|_| InFlight::enter(&settings.parts_in_flight));
    if part.is_some() && *settings.fail_part_once.lock().unwrap() == part {
        *settings.fail_part_once.lock().unwrap() = None;
        return Response::builder()
            .status(StatusCode::SERVICE_UNAVAILABLE)
            .body(Body::from("try again"))
            .unwrap();
    }
    if part.is_some() {
        let delay = *settings.part_delay.lock().unwrap();
        tokio::time::sleep(delay).await;
    }
    let body = to_bytes(body, usize::MAX).await.unwrap();
    let client = reqwest::Client::builder().no_proxy().build().unwrap();
    let mut outgoing = client.request(head.method.clone(), &url).body(body);
    for (name, value) in &head.headers {
        if !["host", "proxy-connection", "connection"].contains(&name.as_str()) {
            outgoing = outgoing.header(name, value);
        }
    }
    let answer = outgoing.send().await.unwrap();
    let status = answer.status();
    let headers = answer.headers().clone();
    let mut bytes = answer.bytes().await.unwrap().to_vec();
    if let Some(number) = part.filter(|_| status == StatusCode::OK) {
        settings.parts_stored.lock().unwrap().push(number);
    }
    let download = head.method == Method::GET && head.uri.path().starts_with("/objects/");
    if download
        && *settings.damage_downloads.lock().unwrap()
        && let Some(first) = bytes.first_mut()
    {
        *first ^= 0xff;
    }
    let mut response = Response::builder().status(status);
    for (name, value) in &headers {
        if name != "transfer-encoding" && name != "content-length" {
            response = response.header(name, value);
        }
    }
    response.body(Body::from(bytes)).unwrap()
}

fn part_number(url: &str) -> Option<u32> {
    let query = url.split_once('?')?.1;
    query
        .split('&')
        .find_map(|pair| pair.strip_prefix("X-Airlock-Part="))
        .and_then(|number| number.parse().ok())
}
