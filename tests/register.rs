//! The Register page in headless Chromium, mounted with a catalog of our
//! choosing.
#![cfg(target_arch = "wasm32")]

use leptos::prelude::*;
use std::sync::Arc;
use till::pages::register::RegisterPage;
use till::state::{AppState, CatalogView};
use till::store::repo::CatalogMeta;
use till::store::Db;
use till_core::catalog::{fixtures, Category, CategoryId};
use till_core::money::Currency;
use till_core::register::settings::SettingsRecord;
use wasm_bindgen::JsCast;
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

const XSS: &str = "<img src=x onerror=alert(1)>";

async fn mount_with(products: Vec<till_core::catalog::Product>) -> web_sys::Element {
    let db = Db::open(&format!("till-test-{}", js_sys::Math::random()))
        .await
        .unwrap();
    let meta = CatalogMeta {
        version: "c-test".into(),
        currency: Currency::EUR,
        categories: vec![Category {
            id: CategoryId::new("general").unwrap(),
            name: "General".into(),
        }],
        tax_rates: vec![fixtures::vat_standard()],
        products_total: products.len() as u64,
        store: "products".into(),
        paged: true,
        text_pages: true,
    };
    let view = CatalogView::build(meta, products).unwrap();
    // Cashier Alex is signed in on this register.
    let desk =
        till_core::register::StoreTx::SaveDesk(Box::new(till_core::testing::signed_in_desk()));
    till::store::exec::execute(&db, &desk).await.unwrap();
    // And a shift is open (nobody sells without one).
    let shift = till_core::testing::open_shift(1, till_core::time::Timestamp::from_millis(0));
    let open = till_core::shift_plan::ShiftRequest {
        id: shift.id,
        version: 0,
        change: till_core::shift_plan::ShiftChange::Open {
            register: shift.register,
            currency: Currency::EUR,
            float: shift.float_count,
        },
        by: shift.opened_by,
        at: shift.opened_at,
    };
    let open = till_core::register::StoreTx::Shift(Box::new(open));
    till::store::exec::execute(&db, &open).await.unwrap();
    let document = web_sys::window().unwrap().document().unwrap();
    let host = document.create_element("div").unwrap();
    document.body().unwrap().append_child(&host).unwrap();
    let slot = std::rc::Rc::new(std::cell::RefCell::new(None));
    let out = slot.clone();
    let handle = leptos::mount::mount_to(host.clone().unchecked_into(), move || {
        let state = AppState::new(db.clone());
        state.catalog.set(Some(Arc::new(view)));
        state.owner.set(Some(true));
        // Nothing listens there: the register works offline.
        state.settings.set(
            SettingsRecord {
                oms_url: "http://127.0.0.1:9".into(),
                register_id: "R1".into(),
                register_token: "t".into(),
                bridge_url: "http://127.0.0.1:9".into(),
                pairing_token: "p".into(),
                pairing_id: None,
                paired_at_ms: None,
                result_wait_secs: None,
                auto_print: false,
                returns_without_receipt: false,
                idle_lock_mins: None,
                manager_discount_bp: None,
                paid_out_limit_minor: None,
                ask_tip: false,
            }
            .try_into()
            .ok(),
        );
        till::runner::start(&state);
        *out.borrow_mut() = Some(state);
        provide_context(state);
        view! { <leptos_router::components::Router><RegisterPage/></leptos_router::components::Router> }
    });
    handle.forget();
    let state = slot.borrow().expect("mounted");
    until(|| state.till.peek(|r| r.is_loaded()).unwrap_or(false)).await;
    host
}

/// Waits (a bounded number of frames) until `cond` holds.
async fn until(cond: impl Fn() -> bool) {
    for _ in 0..400 {
        if cond() {
            return;
        }
        gloo_timers::future::TimeoutFuture::new(10).await;
    }
    panic!("the condition never held");
}

#[wasm_bindgen_test]
async fn untrusted_product_names_render_as_text() {
    let mut p = fixtures::product("xss", 100, &fixtures::vat_standard(), "123456");
    p.name = XSS.into();
    let host = mount_with(vec![p]).await;
    assert!(
        host.query_selector("img").unwrap().is_none(),
        "no element was made from the name"
    );
    let tile = host.query_selector("button.tile").unwrap().expect("a tile");
    assert_eq!(tile.get_attribute("aria-label").as_deref(), Some(XSS));
    assert!(
        tile.text_content().unwrap().contains(XSS),
        "the name shows literally"
    );

    // And in the cart, after a tap.
    tile.unchecked_ref::<web_sys::HtmlElement>().click();
    until(|| host.query_selector(".line-name").unwrap().is_some()).await;
    let line = host
        .query_selector(".line-name")
        .unwrap()
        .expect("a cart line");
    assert_eq!(line.text_content().as_deref(), Some(XSS));
    assert!(host.query_selector("img").unwrap().is_none());
}

#[wasm_bindgen_test]
async fn a_tap_adds_the_product_and_the_pay_button_shows_the_total() {
    let p = fixtures::product("coffee", 350, &fixtures::vat_standard(), "4000000000016");
    let host = mount_with(vec![p]).await;
    let pay = host.query_selector("button.pay-button").unwrap().unwrap();
    assert!(
        pay.has_attribute("disabled"),
        "Pay is disabled while the cart is empty"
    );
    let tile = host.query_selector("button.tile").unwrap().unwrap();
    tile.unchecked_ref::<web_sys::HtmlElement>().click();
    tile.unchecked_ref::<web_sys::HtmlElement>().click();
    until(|| pay.text_content().as_deref() == Some("Pay €7.00")).await;
    assert!(!pay.has_attribute("disabled"));
}
