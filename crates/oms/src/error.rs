//! One error type for the whole API, rendered as the JSON [`ApiError`] body.
//!
//! Handlers return `Result<_, AppError>`; every rejection axum produces for
//! a client's mistake (malformed JSON, wrong types, a body too large, a bad
//! path) is turned into the same body, so a client never sees plain text or
//! a 500 for its own error. Internal errors are logged and answered with a
//! generic message: their details stay on the server.

use axum::extract::rejection::{JsonRejection, PathRejection, QueryRejection};
use axum::extract::{FromRequest, Request};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::de::DeserializeOwned;
use till_core::api::ApiError;

#[derive(Debug)]
pub struct AppError {
    pub status: StatusCode,
    pub body: ApiError,
}

impl AppError {
    pub fn new(status: StatusCode, code: &str, message: impl Into<String>) -> AppError {
        AppError {
            status,
            body: ApiError::new(code, message),
        }
    }

    pub fn with_field(mut self, field: impl Into<String>) -> AppError {
        self.body.field = Some(field.into());
        self
    }

    pub fn unauthorized(message: impl Into<String>) -> AppError {
        AppError::new(StatusCode::UNAUTHORIZED, "unauthorized", message)
    }

    pub fn forbidden(message: impl Into<String>) -> AppError {
        AppError::new(StatusCode::FORBIDDEN, "forbidden", message)
    }

    pub fn not_found(message: impl Into<String>) -> AppError {
        AppError::new(StatusCode::NOT_FOUND, "not_found", message)
    }

    pub fn conflict(message: impl Into<String>) -> AppError {
        AppError::new(StatusCode::CONFLICT, "conflict", message)
    }

    pub fn invalid(code: &str, message: impl Into<String>) -> AppError {
        AppError::new(StatusCode::UNPROCESSABLE_ENTITY, code, message)
    }

    pub fn bad_request(message: impl Into<String>) -> AppError {
        AppError::new(StatusCode::BAD_REQUEST, "bad_request", message)
    }

    /// Logs the cause; the client only learns that it was not its fault.
    pub fn internal(cause: impl std::fmt::Display) -> AppError {
        tracing::error!("internal error: {cause}");
        AppError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "the server failed; nothing was written",
        )
    }
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        (self.status, Json(self.body)).into_response()
    }
}

impl From<JsonRejection> for AppError {
    fn from(r: JsonRejection) -> AppError {
        match r {
            JsonRejection::JsonDataError(e) => AppError::invalid("invalid_body", e.body_text()),
            JsonRejection::JsonSyntaxError(e) => {
                AppError::bad_request(format!("malformed JSON: {}", e.body_text()))
            }
            JsonRejection::MissingJsonContentType(_) => AppError::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported_media_type",
                "send the body as JSON with Content-Type: application/json",
            ),
            JsonRejection::BytesRejection(e) => body_rejection(e.status(), e.body_text()),
            other => AppError::bad_request(other.body_text()),
        }
    }
}

fn body_rejection(status: StatusCode, text: String) -> AppError {
    if status == StatusCode::PAYLOAD_TOO_LARGE {
        AppError::new(status, "payload_too_large", "the body is larger than 1 MiB")
    } else {
        AppError::new(status, "bad_request", text)
    }
}

impl From<PathRejection> for AppError {
    fn from(r: PathRejection) -> AppError {
        AppError::bad_request(r.body_text())
    }
}

impl From<QueryRejection> for AppError {
    fn from(r: QueryRejection) -> AppError {
        AppError::bad_request(r.body_text())
    }
}

/// `Json<T>` whose rejection is our JSON error body.
pub struct AppJson<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for AppJson<T> {
    type Rejection = AppError;

    async fn from_request(req: Request, state: &S) -> Result<Self, AppError> {
        let Json(v) = Json::<T>::from_request(req, state).await?;
        Ok(AppJson(v))
    }
}
