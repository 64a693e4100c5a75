//! The Register page: where a sale is rung up.

use leptos::prelude::*;

#[component]
pub fn RegisterPage() -> impl IntoView {
    view! {
        <section class="page register" aria-labelledby="register-heading">
            <h1 id="register-heading">"Register"</h1>
        </section>
    }
}
