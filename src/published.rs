//! A value one service publishes and many readers take without waiting: the
//! owner swaps in a new `Arc` on change, a reader clones the current one.

use std::sync::{Arc, RwLock};

pub struct Published<T>(Arc<RwLock<Arc<T>>>);

impl<T> Published<T> {
    pub fn snapshot(&self) -> Arc<T> {
        self.0.read().unwrap_or_else(|p| p.into_inner()).clone()
    }

    pub fn publish(&self, value: T) {
        *self.0.write().unwrap_or_else(|p| p.into_inner()) = Arc::new(value);
    }
}

impl<T> Clone for Published<T> {
    fn clone(&self) -> Self {
        Published(self.0.clone())
    }
}

impl<T: Default> Default for Published<T> {
    fn default() -> Self {
        Published(Arc::new(RwLock::new(Arc::new(T::default()))))
    }
}
