//! What the browser test files share: the app mounted into an element of our own, and the
//! user's gestures on it (click, key, pick), each followed by `yew::scheduler::flush()`.
//! Each test file adds the helpers only it needs in an `impl Mounted` block of its own.
#![allow(dead_code)] // not every test file uses every helper

use commitscope_web::{App, AppProps};
use std::time::Duration;
use wasm_bindgen::JsCast;
use web_sys::{Element, HtmlElement, HtmlSelectElement};

pub struct Mounted {
    pub root: Element,
    handle: Option<yew::AppHandle<App>>,
    widget: Option<commitscope_web::Widget>,
}

pub fn document() -> web_sys::Document {
    web_sys::window().unwrap().document().unwrap()
}

pub fn all_in(root: &Element, sel: &str) -> Vec<Element> {
    let list = root.query_selector_all(sel).unwrap();
    (0..list.length()).filter_map(|i| list.item(i)).filter_map(|n| n.dyn_into().ok()).collect()
}

fn new_root() -> Element {
    let doc = document();
    let root = doc.create_element("div").unwrap();
    doc.body().unwrap().append_child(&root).unwrap();
    root
}

fn key_event(key: &str) -> web_sys::KeyboardEvent {
    let init = web_sys::KeyboardEventInit::new();
    init.set_key(key);
    init.set_bubbles(true);
    web_sys::KeyboardEvent::new_with_keyboard_event_init_dict("keydown", &init).unwrap()
}

impl Mounted {
    /// The full app on `preset` (default: the 2PC happy path), not touching the address.
    pub async fn new(preset: Option<&str>) -> Mounted {
        Mounted::with_address(preset, false).await
    }

    /// The full app; with `use_address`, it opens the link in the address and keeps the
    /// address a link to the current moment, as the page does.
    pub async fn with_address(preset: Option<&str>, use_address: bool) -> Mounted {
        let root = new_root();
        let props =
            AppProps { preset: preset.map(|p| p.to_string().into()), use_address, embed: None };
        let handle = yew::Renderer::<App>::with_root_and_props(root.clone(), props).render();
        yew::scheduler::flush().await;
        Mounted { root, handle: Some(handle), widget: None }
    }

    /// An embedded widget, mounted as `embed.js` mounts it: through `mountWidget` with an
    /// object of attributes.
    pub async fn widget(attributes: &[(&str, &str)]) -> Mounted {
        let root = new_root();
        let options = js_sys::Object::new();
        for (k, v) in attributes {
            js_sys::Reflect::set(&options, &(*k).into(), &(*v).into()).unwrap();
        }
        let widget = commitscope_web::mount_widget(
            root.clone(),
            options.into(),
            Some("https://example.org/cs/index.html".into()),
        );
        yew::scheduler::flush().await;
        Mounted { root, handle: None, widget: Some(widget) }
    }

    pub fn all(&self, sel: &str) -> Vec<Element> {
        all_in(&self.root, sel)
    }

    pub fn one(&self, sel: &str) -> Element {
        self.root.query_selector(sel).unwrap().unwrap_or_else(|| panic!("no element matches {sel}"))
    }

    pub fn has(&self, sel: &str) -> bool {
        self.root.query_selector(sel).unwrap().is_some()
    }

    pub fn text(&self, sel: &str) -> String {
        self.one(sel).text_content().unwrap_or_default()
    }

    pub async fn click(&self, sel: &str) {
        let el = self.one(sel);
        match el.dyn_ref::<HtmlElement>() {
            Some(h) => h.click(),
            None => {
                // SVG elements have no `click()`: dispatch the event a mouse would.
                let init = web_sys::MouseEventInit::new();
                init.set_bubbles(true);
                let e =
                    web_sys::MouseEvent::new_with_mouse_event_init_dict("click", &init).unwrap();
                el.dispatch_event(&e).unwrap();
            }
        }
        yew::scheduler::flush().await;
    }

    /// Clicks the button whose text is `label` (or, failing that, contains it: buttons
    /// start with an icon).
    pub async fn click_button(&self, label: &str) {
        let buttons = self.all("button");
        let text = |b: &Element| b.text_content().unwrap_or_default();
        let b = buttons
            .iter()
            .find(|b| text(b).trim() == label)
            .or_else(|| buttons.iter().find(|b| text(b).contains(label)))
            .unwrap_or_else(|| panic!("no button labelled {label}"));
        b.clone().dyn_into::<HtmlElement>().unwrap().click();
        yew::scheduler::flush().await;
    }

    /// A key pressed with the focus on the page.
    pub async fn key(&self, key: &str) {
        document().dispatch_event(&key_event(key)).unwrap();
        yew::scheduler::flush().await;
    }

    /// A key pressed while the focus is on `sel` (inside this app).
    pub async fn key_at(&self, sel: &str, key: &str) {
        self.one(sel).dispatch_event(&key_event(key)).unwrap();
        yew::scheduler::flush().await;
    }

    /// Picks `value` in the select labelled `label` and fires `change`, as a user does.
    pub async fn pick(&self, label: &str, value: &str) {
        let select = self
            .one(&format!("select[aria-label='{label}']"))
            .dyn_into::<HtmlSelectElement>()
            .unwrap();
        select.set_value(value);
        assert_eq!(select.value(), value, "{label} has an option {value}");
        let init = web_sys::EventInit::new();
        init.set_bubbles(true);
        let e = web_sys::Event::new_with_event_init_dict("change", &init).unwrap();
        select.dispatch_event(&e).unwrap();
        yew::scheduler::flush().await;
    }

    /// Waits (up to 3 s) for something asynchronous: a timer, a promise, a file read.
    pub async fn until(&self, what: &str, cond: impl Fn(&Mounted) -> bool) {
        for _ in 0..150 {
            if cond(self) {
                return;
            }
            yew::platform::time::sleep(Duration::from_millis(20)).await;
            yew::scheduler::flush().await;
        }
        panic!("timed out waiting for {what}");
    }
}

impl Drop for Mounted {
    fn drop(&mut self) {
        if let Some(h) = self.handle.take() {
            h.destroy();
        }
        if let Some(mut w) = self.widget.take() {
            w.destroy();
        }
        self.root.remove();
    }
}
