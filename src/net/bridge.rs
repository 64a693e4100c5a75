//! The bridge client: the card terminal's side of the store's LAN.

use crate::net::oms::NetError;
use gloo_net::http::Request;
use till_core::api::PAIRING_HEADER;

#[derive(Debug, Clone)]
pub struct Bridge {
    pub base: String,
    pub token: String,
}

impl Bridge {
    fn url(&self, path: &str) -> String {
        format!("{}/v1{path}", self.base.trim_end_matches('/'))
    }

    /// Reachable and paired (the pairing token is accepted).
    pub async fn health(&self) -> Result<(), NetError> {
        let r = Request::get(&self.url("/health"))
            .header(PAIRING_HEADER, &self.token)
            .send()
            .await
            .map_err(|e| NetError::Unreachable(e.to_string()))?;
        if r.ok() {
            Ok(())
        } else {
            Err(NetError::Refused {
                status: r.status(),
                message: r.status_text(),
            })
        }
    }
}
