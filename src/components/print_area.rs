//! Prints a receipt from wherever the cashier is: the register's notice
//! ("Print receipt"), or by itself when a sale is paid and the store turned
//! automatic printing on. The receipt renders in a print-only area and the
//! browser's print dialog opens; the screen stays where it was.

use crate::components::receipt::Receipt;
use crate::state::use_app;
use leptos::prelude::*;
use leptos::task::spawn_local;
use till_core::order::Order;
use till_core::register::answers::Answer;
use till_core::register::UiEvent;

#[component]
pub fn PrintArea() -> impl IntoView {
    let app = use_app();
    let order = RwSignal::new(None::<Order>);
    {
        let asked = Memo::new(move |_| app.answered(Answer::Print));
        Effect::new(move |_| {
            let _ = asked.get();
            let Some(UiEvent::Print(id)) = app.take(Answer::Print) else {
                return;
            };
            spawn_local(async move {
                match app.db().order(&id.to_string()).await {
                    Ok(Some(o)) => order.set(Some(o)),
                    Ok(None) => app.alert("That order is not on this register."),
                    Err(e) => app.alert(e.to_string()),
                }
            });
        });
    }
    // Once the receipt is in the page (the next frame: the view renders
    // first), print it (the dialog blocks until the cashier is done), then
    // take it out again.
    Effect::new(move |_| {
        if order.get().is_some() {
            request_animation_frame(move || {
                if let Some(w) = web_sys::window() {
                    let _ = w.print();
                }
                order.set(None);
            });
        }
    });
    view! {
        <div class="print-area" aria-hidden="true">
            {move || order.get().map(|o| view! { <Receipt order=o/> })}
        </div>
    }
}
