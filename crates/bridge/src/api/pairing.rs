//! Pairing over HTTP: `POST /v1/pairings` for a register, and the admin
//! page `/pair` for the person at the bridge's own machine.
//!
//! Every try is logged with its peer (never the code typed). The admin page
//! answers only a peer on this machine that names this machine in its
//! `Host` (a web page elsewhere that points a name of its own at
//! 127.0.0.1, DNS rebinding, gets nothing), and no request relayed by a
//! proxy (`Forwarded`, `X-Forwarded-*`): through a proxy on this machine,
//! every peer would look local.

use super::{now, parse_start, Error};
use crate::pairing::{peer_key, Code, PairError, Pairings, CODE_TRIES};
use crate::AppState;
use axum::body::Bytes;
use axum::extract::{ConnectInfo, State};
use axum::http::{header, HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::Json;
use std::net::SocketAddr;
use till_core::api::{PairRequest, PairResponse, WRONG_CODE};
use till_core::time::Timestamp;

/// A pairing comes as JSON only: a page of another site can send a form or
/// `text/plain` without asking the browser first, and would burn the code
/// with wrong tries; JSON from another origin needs the bridge's CORS
/// consent, which only the app's origins get.
fn sent_as_json(headers: &HeaderMap) -> Result<(), Error> {
    let media = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .map(|m| m.trim().to_ascii_lowercase());
    match media.as_deref() {
        Some("application/json") => Ok(()),
        _ => Err(Error::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            "Send the pairing as JSON (Content-Type: application/json)",
        )),
    }
}

/// `POST /v1/pairings`: the code the bridge shows, for this register's
/// own token.
pub async fn pair(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, Error> {
    sent_as_json(&headers)?;
    let req: PairRequest = parse_start(&body, "pairing")?;
    let pairings = state.pairings.clone();
    let now = now();
    let key = peer_key(peer.ip());
    let register = req.register.clone();
    let paired = {
        let key = key.clone();
        tokio::task::spawn_blocking(move || pairings.pair(&req.code, &req.register, &key, now))
            .await
            .map_err(|e| PairError::Storage(e.to_string()))
            .and_then(|r| r)
    };
    match paired {
        Ok((id, token)) => {
            tracing::info!(peer = %peer.ip(), pairing = %id, register = %register.trim(), "register paired");
            Ok((StatusCode::CREATED, Json(PairResponse { id, token })).into_response())
        }
        Err(refused) => Ok(refused_pairing(refused, &key, now)),
    }
}

/// The answer to a refused pairing, logged with its peer.
fn refused_pairing(refused: PairError, peer: &str, now: Timestamp) -> Response {
    let wait = |until: Timestamp| until.saturating_since(now).as_secs_ceil();
    match refused {
        PairError::WrongCode {
            withdrawn,
            cooling_until,
        } => {
            let mut msg = if withdrawn {
                "That code is wrong or has expired, and it is withdrawn: make a new one on the bridge (its page /pair, or till-bridge pairings code)".to_owned()
            } else {
                "That code is wrong or has expired: type the code the bridge shows now".to_owned()
            };
            tracing::warn!(peer, withdrawn, "pairing: wrong code");
            if let Some(until) = cooling_until {
                let minutes = wait(until).div_ceil(60);
                tracing::warn!(
                    peer,
                    minutes,
                    "pairing: {CODE_TRIES} wrong codes, the peer cools down"
                );
                msg.push_str(&format!(
                    ". {CODE_TRIES} wrong codes from this device: it may try again in {minutes} min"
                ));
            }
            Error::new(StatusCode::UNAUTHORIZED, WRONG_CODE, msg).into_response()
        }
        PairError::CoolingDown { until } => {
            let secs = wait(until);
            tracing::warn!(peer, secs, "pairing: refused, the peer cools down");
            let msg = format!(
                "Too many wrong codes from this device: it may try again in {} min",
                secs.div_ceil(60)
            );
            let mut answer =
                Error::new(StatusCode::TOO_MANY_REQUESTS, "too_many_tries", msg).into_response();
            answer
                .headers_mut()
                .insert(header::RETRY_AFTER, secs.max(1).into());
            answer
        }
        PairError::BadRegister => Error::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_register",
            "register: a name of 1 to 64 characters",
        )
        .into_response(),
        PairError::Storage(e) => internal(e).into_response(),
    }
}

fn internal(e: String) -> Error {
    tracing::error!("{e}");
    Error::new(
        StatusCode::INTERNAL_SERVER_ERROR,
        "internal",
        "the bridge failed; check its log",
    )
}

/// A peer on the bridge's own machine: loopback, also as an IPv4-mapped
/// IPv6 address (a dual-stack listener sees 127.0.0.1 as ::ffff:127.0.0.1).
pub fn on_this_machine(ip: std::net::IpAddr) -> bool {
    ip.to_canonical().is_loopback()
}

/// Headers a proxy adds: a request that carries one was relayed.
const RELAYED: [&str; 5] = [
    "forwarded",
    "x-forwarded-for",
    "x-forwarded-host",
    "x-forwarded-proto",
    "x-real-ip",
];

/// The host part of a `Host` header: `127.0.0.1:7878`, `[::1]:7878`,
/// `localhost`.
fn host_name(host: &str) -> &str {
    if let Some(rest) = host.strip_prefix('[') {
        return rest.split(']').next().unwrap_or("");
    }
    host.rsplit_once(':').map_or(host, |(name, _)| name)
}

/// Whether a request to the admin page comes from a person at this
/// machine, asking this machine by one of its own names; `Err` says why not.
/// `uri` gives the host when there is no `Host` header (HTTP/2).
pub fn local_admin(
    peer: std::net::IpAddr,
    headers: &HeaderMap,
    uri: &Uri,
) -> Result<(), &'static str> {
    if !on_this_machine(peer) {
        return Err("the pairing page answers only on the bridge's own machine (http://127.0.0.1)");
    }
    if RELAYED.iter().any(|h| headers.contains_key(*h)) {
        return Err(
            "the pairing page does not answer through a proxy: open it on the bridge's own machine",
        );
    }
    let host = headers
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .or(uri.authority().map(|a| a.as_str()))
        .unwrap_or("");
    let name = host_name(host);
    let own = name.eq_ignore_ascii_case("localhost")
        || name.parse::<std::net::IpAddr>().is_ok_and(on_this_machine);
    if !own {
        return Err("open the pairing page as http://127.0.0.1 or http://localhost on the bridge's own machine");
    }
    // A form sent from another site's page names that site as its origin.
    let origin = headers.get(header::ORIGIN).and_then(|v| v.to_str().ok());
    if origin.is_some_and(|o| o.split_once("://").map(|(_, h)| h) != Some(host)) {
        return Err("the pairing page takes its button from its own page only");
    }
    Ok(())
}

/// Runs pairings work on the blocking pool; a failure is a 500, logged.
async fn with_pairings<T: Send + 'static>(
    state: &AppState,
    f: impl FnOnce(&Pairings) -> Result<T, String> + Send + 'static,
) -> Result<T, Error> {
    let pairings = state.pairings.clone();
    tokio::task::spawn_blocking(move || f(&pairings))
        .await
        .map_err(|e| format!("the pairings stopped: {e}"))
        .and_then(|r| r)
        .map_err(internal)
}

fn forbidden(why: &str) -> Error {
    tracing::warn!("pairing page refused: {why}");
    Error::new(StatusCode::FORBIDDEN, "forbidden", why)
}

/// `GET /pair`: the code in force, for the person at the bridge's own
/// machine, with a button that makes a new one; 403 from anywhere else.
pub async fn admin_page(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    uri: Uri,
) -> Result<Response, Error> {
    local_admin(peer.ip(), &headers, &uri).map_err(forbidden)?;
    let now = now();
    let code = with_pairings(&state, move |p| p.code(now)).await?;
    Ok((
        [(header::CACHE_CONTROL, "no-store")],
        axum::response::Html(admin_html(code.as_ref(), now)),
    )
        .into_response())
}

fn admin_html(code: Option<&Code>, now: Timestamp) -> String {
    let shown = match code {
        Some(code) => {
            let left = code.expires_at.saturating_since(now).as_secs_ceil();
            format!(
                "<p>In the register: Settings, Pair with payment bridge. Type this code:</p>\
                 <p style=\"font-size:4rem;letter-spacing:.2em\" aria-label=\"Pairing code\">{}</p>\
                 <p>Valid for {} min {:02} s more; used once.</p>",
                code.spaced(),
                left / 60,
                left % 60
            )
        }
        None => "<p role=status>No pairing code is in force. Make one when a register is ready to pair.</p>".to_owned(),
    };
    format!(
        "<!doctype html><html lang=en><head><meta charset=utf-8>\
         <meta http-equiv=refresh content=15><title>Pair a register</title></head>\
         <body style=\"font-family:sans-serif;text-align:center;margin-top:15vh\">\
         <h1>Pair a register with this bridge</h1>{shown}\
         <form method=post action=/pair><button style=\"font-size:1.5rem\">Make a new code</button></form>\
         </body></html>"
    )
}

/// `POST /pair`: a new code (replacing the one in force), made only by the
/// person at the bridge's own machine; then the page again.
pub async fn new_code(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    uri: Uri,
) -> Result<Response, Error> {
    local_admin(peer.ip(), &headers, &uri).map_err(forbidden)?;
    let now = now();
    with_pairings(&state, move |p| p.new_code(now)).await?;
    tracing::info!(peer = %peer.ip(), "pairing: a new code was made on the admin page");
    Ok((StatusCode::SEE_OTHER, [(header::LOCATION, "/pair")]).into_response())
}
