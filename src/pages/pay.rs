//! The Payment page. This version shows what is due and leads back; taking
//! cash and card payments comes with the payment release.

use crate::state::use_app;
use leptos::prelude::*;

#[component]
pub fn PayPage() -> impl IntoView {
    let app = use_app();
    let due = move || {
        app.cart
            .with(|c| c.totals().map(|t| t.total.to_string()).unwrap_or_default())
    };
    view! {
        <section class="page pay">
            <h1>"Payment"</h1>
            <p class="due">"Amount due: " <strong>{due}</strong></p>
            <p>"Cash and card payments are not available in this version of Till yet."</p>
            <a class="button" href="/">"Back to Register"</a>
        </section>
    }
}
