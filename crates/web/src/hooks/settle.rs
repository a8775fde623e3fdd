use gloo_timers::callback::Timeout;
use yew::prelude::*;

/// How long a value must rest before deferred views show it.
const SETTLE_MS: u32 = 120;

/// `value` as views that may lag should see it: at once unless `defer`, else once it has
/// stayed the same for `SETTLE_MS`. While the scrubber is dragged, the detail panels
/// (cards, event log, properties, inspector) keep the last moment they drew and
/// catch up when the pointer rests; the diagram, the clock and the narration follow every
/// frame. Nothing is rendered twice for a value that is not deferred.
#[hook]
pub fn use_settled<T: Clone + PartialEq + 'static>(value: T, defer: bool) -> T {
    let settled = use_mut_ref(|| value.clone());
    let rerender = use_force_update();
    if !defer {
        *settled.borrow_mut() = value.clone();
    }
    {
        let settled = settled.clone();
        use_effect_with((value, defer), move |(value, defer)| {
            let value = value.clone();
            let timer = defer.then(|| {
                Timeout::new(SETTLE_MS, move || {
                    *settled.borrow_mut() = value;
                    rerender.force_update();
                })
            });
            move || drop(timer)
        });
    }
    let now = settled.borrow().clone();
    now
}
