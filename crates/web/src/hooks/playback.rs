use crate::state::{Action, BASE_RATE, SPEEDS};
use gloo_timers::callback::Interval;
use yew::prelude::*;

/// While `playing`, dispatches `Action::Tick` at the speed's rate. The interval lives in
/// the effect: it is dropped (cancelled) when playback stops, the speed changes or the
/// component unmounts. Speed changes the tick rate, never the simulation.
#[hook]
pub fn use_playback(playing: bool, speed: usize, dispatch: Callback<Action>) {
    use_effect_with((playing, speed), move |(playing, speed)| {
        let interval = playing.then(|| {
            let rate = BASE_RATE * SPEEDS.get(*speed).copied().unwrap_or(1.0);
            let ms = (1000.0 / rate).round().clamp(16.0, 10_000.0) as u32;
            Interval::new(ms, move || dispatch.emit(Action::Tick))
        });
        move || drop(interval)
    });
}
