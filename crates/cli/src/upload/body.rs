//! A request body that moves a progress bar as it is sent: the bytes in memory, handed
//! to the HTTP client in slices, each counted as the client takes it.

use bytes::Bytes;

use crate::progress::FileBar;

/// The size of the slices counted.
const SLICE: usize = 256 * 1024;

/// `data` as a streamed body that advances `bar` as it goes. A body of one slice or
/// less goes whole (a streamed body costs more than the bar would show for it).
pub fn counted(data: Bytes, bar: FileBar) -> reqwest::Body {
    if data.len() <= SLICE {
        bar.advance(data.len() as u64);
        return reqwest::Body::from(data);
    }
    let slices: Vec<Bytes> = (0..data.len())
        .step_by(SLICE)
        .map(|start| data.slice(start..(start + SLICE).min(data.len())))
        .collect();
    let stream = futures_util::stream::iter(slices.into_iter().map(move |slice| {
        bar.advance(slice.len() as u64);
        Ok::<_, std::io::Error>(slice)
    }));
    reqwest::Body::wrap_stream(stream)
}
