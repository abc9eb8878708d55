//! Connection deadlines below HTTP: a client that trickles a request head forever, or holds an
//! idle connection open, is disconnected.
//!
//! axum's server sets no header-read timeout, and the request timeout layer only starts once a
//! whole request head has arrived, so without this a client sending one header line every few
//! seconds holds a connection (and its task) indefinitely. HTTP/1.1 answers each request before
//! reading the next, so the guard needs no parsing: from the first byte of a request until the
//! server writes its answer, at most `request` may pass (the handler's own timeout plus time
//! for the head); between requests, at most `idle`. When a deadline passes, reads fail with
//! `TimedOut` and hyper closes the connection.

use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::time::{Instant, Sleep};

/// How long a connection may take over one request, and stay idle between requests.
#[derive(Clone, Copy, Debug)]
pub struct Deadlines {
    /// From the first byte of a request to the first byte of its answer.
    pub request: Duration,
    /// With no request in progress.
    pub idle: Duration,
}

/// A TCP listener whose connections carry [`Deadlines`].
#[derive(Debug)]
pub struct GuardedListener {
    inner: TcpListener,
    deadlines: Deadlines,
}

impl GuardedListener {
    pub fn new(inner: TcpListener, deadlines: Deadlines) -> GuardedListener {
        GuardedListener { inner, deadlines }
    }
}

impl axum::serve::Listener for GuardedListener {
    type Io = GuardedStream;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (GuardedStream, SocketAddr) {
        let (stream, addr) = axum::serve::Listener::accept(&mut self.inner).await;
        let _ = stream.set_nodelay(true);
        (GuardedStream::new(stream, self.deadlines), addr)
    }

    fn local_addr(&self) -> io::Result<SocketAddr> {
        self.inner.local_addr()
    }
}

/// A TCP stream that fails its reads once its current deadline has passed.
#[derive(Debug)]
pub struct GuardedStream {
    inner: TcpStream,
    deadlines: Deadlines,
    /// Set while a request is being read: its first byte arrived and no answer was written yet.
    in_request: bool,
    timer: Pin<Box<Sleep>>,
}

impl GuardedStream {
    fn new(inner: TcpStream, deadlines: Deadlines) -> GuardedStream {
        GuardedStream {
            inner,
            deadlines,
            in_request: false,
            timer: Box::pin(tokio::time::sleep(deadlines.idle)),
        }
    }
}

impl AsyncRead for GuardedStream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let before = buf.filled().len();
        match Pin::new(&mut this.inner).poll_read(cx, buf) {
            Poll::Ready(Ok(())) => {
                if buf.filled().len() > before && !this.in_request {
                    this.in_request = true;
                    let at = Instant::now() + this.deadlines.request;
                    this.timer.as_mut().reset(at);
                }
                Poll::Ready(Ok(()))
            }
            Poll::Ready(Err(e)) => Poll::Ready(Err(e)),
            Poll::Pending => match this.timer.as_mut().poll(cx) {
                Poll::Ready(()) => Poll::Ready(Err(io::Error::new(
                    io::ErrorKind::TimedOut,
                    if this.in_request {
                        "request not completed in time"
                    } else {
                        "idle connection"
                    },
                ))),
                Poll::Pending => Poll::Pending,
            },
        }
    }
}

impl AsyncWrite for GuardedStream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let r = Pin::new(&mut this.inner).poll_write(cx, buf);
        if let Poll::Ready(Ok(n)) = &r
            && *n > 0
        {
            // The answer is on its way: the next deadline is the idle one.
            this.in_request = false;
            let at = Instant::now() + this.deadlines.idle;
            this.timer.as_mut().reset(at);
        }
        r
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let r = Pin::new(&mut this.inner).poll_write_vectored(cx, bufs);
        if let Poll::Ready(Ok(n)) = &r
            && *n > 0
        {
            this.in_request = false;
            let at = Instant::now() + this.deadlines.idle;
            this.timer.as_mut().reset(at);
        }
        r
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }
}
