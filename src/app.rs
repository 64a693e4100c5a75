//! The app shell: the router and the pages it switches between.

use crate::pages::register::RegisterPage;
use leptos::prelude::*;
use leptos_router::components::{Route, Router, Routes};
use leptos_router::path;

#[component]
pub fn App() -> impl IntoView {
    view! {
        <Router>
            <main class="till">
                <Routes fallback=NotFound>
                    <Route path=path!("/") view=RegisterPage/>
                </Routes>
            </main>
        </Router>
    }
}

/// An unknown address: say so, and offer the way back.
#[component]
fn NotFound() -> impl IntoView {
    view! {
        <section class="page">
            <h1>"Page not found"</h1>
            <p><a href="/">"Back to Register"</a></p>
        </section>
    }
}
