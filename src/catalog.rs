//! The catalog on this device. It is loaded from IndexedDB at start (the
//! register sells offline), and downloaded when the register asks
//! ([`OmsCall::Catalog`](till_core::register::OmsCall::Catalog)): page by
//! page into the product store not in use (each page one transaction),
//! checked whole by till-core's [`CatalogDownload`], and only then swapped
//! in, remembered and shown. An interrupted or refused download leaves the
//! catalog in use as it was.

use crate::net::oms::Oms;
use crate::state::{AppState, CatalogView};
use crate::store::repo::CatalogMeta;
use crate::store::{Db, StoreError};
use leptos::prelude::*;
use std::sync::Arc;
use till_core::download::CatalogDownload;
use till_core::money::Currency;
use till_core::register::{CatalogFailure, StorageFault};
use till_core::sync::NetFailure;

/// Loads the catalog stored in IndexedDB (works offline).
pub async fn load(state: &AppState) {
    let meta = match state.db().catalog_meta().await {
        Ok(Some(m)) => m,
        Ok(None) => return,
        Err(e) => {
            state.alert(e.to_string());
            return;
        }
    };
    match state.db().products_of(&meta).await {
        Ok(products) => match CatalogView::build(meta, products) {
            Ok(view) => show(state, view),
            Err(e) => state.alert(e),
        },
        Err(e) => state.alert(e.to_string()),
    }
}

/// The register sells from `view` from now on.
fn show(state: &AppState, view: CatalogView) {
    let view = Arc::new(view);
    state.catalog.set(Some(view.clone()));
    leptos::task::spawn_local(crate::state::build_index(*state, view));
}

fn stored(e: StoreError) -> CatalogFailure {
    CatalogFailure::Storage(StorageFault::from(&e))
}

/// Downloads the catalog if it changed, with its progress on screen, and
/// shows it: the new catalog's currency, or `None` when the catalog in use
/// is current.
pub async fn download(state: AppState, oms: &Oms) -> Result<Option<Currency>, CatalogFailure> {
    let progress = state.download;
    let result = fetch(&state.db(), oms, move |done, total| {
        progress.set(Some((done, total)))
    })
    .await;
    state.download.set(None);
    let Some((meta, catalog)) = result? else {
        return Ok(None);
    };
    let currency = meta.currency;
    show(&state, CatalogView::from_catalog(meta, catalog));
    Ok(Some(currency))
}

/// The download itself: `None` when the catalog in use is current.
async fn fetch(
    db: &Db,
    oms: &Oms,
    mut progress: impl FnMut(u64, u64),
) -> Result<Option<(CatalogMeta, till_core::catalog::Catalog)>, CatalogFailure> {
    let net = CatalogFailure::Net;
    let known = db.catalog_meta().await.map_err(stored)?.map(|m| m.version);
    let Some(mut page) = oms.page(None, known.as_deref()).await.map_err(net)? else {
        return Ok(None);
    };
    let mut download = CatalogDownload::start(&page).map_err(CatalogFailure::Refused)?;
    let staging = db.stage_catalog().await.map_err(stored)?;
    let mut number = 0;
    loop {
        download.add(&page).map_err(CatalogFailure::Refused)?;
        // The next page is fetched while this one is stored.
        let cursor = page.next_cursor.take();
        let next = async {
            match &cursor {
                Some(c) => oms.page(Some(c), None).await.map(Some),
                None => Ok(None),
            }
        };
        let stage = db.stage_products(staging, number, &page.products);
        number += 1;
        let (staged, next) = futures_util::future::join(stage, next).await;
        staged.map_err(stored)?;
        let (done, total) = download.progress();
        progress(done, total);
        let Some(next) = next.map_err(net)? else {
            break;
        };
        page = next.ok_or_else(|| net(NetFailure::BadAnswer("304 for a later page".into())))?;
    }
    let done = download.finish().map_err(CatalogFailure::Refused)?;
    let meta = CatalogMeta {
        version: done.version,
        currency: done.currency,
        categories: done.categories,
        tax_rates: done.tax_rates,
        products_total: done.products_total,
        store: staging.into(),
        paged: true,
        text_pages: true,
    };
    db.activate_catalog(&meta).await.map_err(stored)?;
    Ok(Some((meta, done.catalog)))
}
