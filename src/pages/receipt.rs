//! The receipt page: an order's receipt, offered when a sale completes and
//! reachable again later (the receipt itself is
//! [`crate::components::receipt`]).

use crate::components::receipt::{Receipt, ReceiptFrame};
use crate::state::use_app;
use leptos::prelude::*;
use leptos_router::hooks::use_params_map;

#[component]
pub fn ReceiptPage() -> impl IntoView {
    let app = use_app();
    let params = use_params_map();
    let db = app.db().clone();
    let order = LocalResource::new(move || {
        let id = params.with(|p| p.get("id").unwrap_or_default());
        let db = db.clone();
        async move { db.order(&id).await }
    });
    view! {
        <ReceiptFrame title="Receipt">
            <Suspense fallback=|| view! { <p>"Loading…"</p> }>
                {move || order.get().map(|r| match r {
                    Ok(Some(o)) => view! { <Receipt order=o/> }.into_any(),
                    Ok(None) => view! { <p role="alert">"No such order on this register."</p> }.into_any(),
                    Err(e) => view! { <p role="alert">{e.to_string()}</p> }.into_any(),
                })}
            </Suspense>
        </ReceiptFrame>
    }
}
