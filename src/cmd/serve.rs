//! `zatan serve`: open the store, start the services and the HTTP front, wait
//! for SIGINT/SIGTERM, stop them in reverse order.

use std::sync::Arc;
use std::time::Duration;

use super::Failure;
use crate::config::{Config, DEMO_TOKEN};
use crate::fd_limit;
use crate::http::{self, Limits};
use crate::services::{self, StartError};
use crate::shutdown;
use crate::store::Store;
use crate::web::books::Covers;
use crate::web::{self, BookPages, Callback, Opds};

/// How long in-flight requests may take to finish after a stop signal.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(3);
/// How long the service threads get after that; the whole stop stays under 5 s.
const SERVICES_GRACE: Duration = Duration::from_millis(1500);

pub fn run(config: Config) -> Result<(), Failure> {
    for (key, dir) in config.directories() {
        std::fs::create_dir_all(dir).map_err(|e| {
            Failure::config(format!(
                "cannot create {} ({key}): {e}; create it or point {key} elsewhere",
                dir.display()
            ))
        })?;
    }
    let store = Arc::new(
        Store::open(&config.storage.data_dir).map_err(|e| Failure::runtime(e.to_string()))?,
    );

    let limits = Limits {
        max_body_bytes: config.server.body_limit_bytes,
        max_connections: max_connections_within_fd_limit(config.server.max_connections),
        max_connections_per_ip: config.server.max_connections_per_ip,
        trusted_proxies: config
            .server
            .trusted_proxy_addrs()
            .map_err(|e| Failure::config(e.to_string()))?,
        ..Limits::default()
    };

    let (trigger, stop) = shutdown::pair();
    ctrlc::set_handler(trigger.into_handler())
        .map_err(|e| Failure::runtime(format!("cannot install the SIGINT/SIGTERM handler: {e}")))?;

    let (services, bot) = services::start(&config, &store)?;
    let articles = bot.handles.articles.clone();
    let covers = Arc::new(Covers::default());
    let books = bot.handles.downloads.as_ref().map(|downloads| BookPages {
        catalog: bot.handles.catalog.clone(),
        signer: downloads.signer.clone(),
        dir: config.books.dir.clone(),
        covers: covers.clone(),
    });
    let opds = config.opds.credentials().map(|(user, password)| {
        let dir = config.books.dir.clone();
        let catalog = bot.handles.catalog.clone();
        Opds::new(catalog, dir, covers.clone(), user, password, config.opds.page_size)
    });
    let callback = Arc::new(Callback::new(&config, bot));
    let router = Arc::new(web::router(&config, callback, articles, books, opds));
    let listening =
        config.server.listen_addr().map_err(|e| Failure::config(e.to_string())).and_then(|addr| {
            http::serve(addr, limits, router).map_err(|e| {
                Failure::runtime(format!(
                    "cannot listen on {addr}: {e}; free the port or change server.listen"
                ))
            })
        });
    let server = match listening {
        Ok(server) => server,
        Err(failure) => {
            services.stop(SERVICES_GRACE);
            return Err(failure);
        }
    };

    let released = crate::startup_pages::release();
    log::debug!("gave back {released} KiB of the binary's pages that starting up used");
    log::info!(
        "zatan {} listening on http://{}{} ({}; store {})",
        crate::VERSION,
        server.local_addr(),
        config.server.callback_path,
        if config.wechat.aes_keys().is_empty() {
            "plaintext mode"
        } else {
            "plaintext, compatible and safe mode"
        },
        store.path().display()
    );
    if config.wechat.token.expose() == DEMO_TOKEN {
        log::warn!("using the demo token; set wechat.token before pointing a real account here");
    }

    let _ = stop.receiver().recv();
    log::info!(
        "stopping: no new connections, in-flight requests get {}s",
        SHUTDOWN_GRACE.as_secs()
    );
    server.shutdown(SHUTDOWN_GRACE);
    services.stop(SERVICES_GRACE);
    log::info!("stopped");
    Ok(())
}

/// File descriptors kept for the store, logs, the mail and crawler services.
const FDS_KEPT_FOR_THE_REST: u64 = 64;

/// Raises the open-files limit as far as allowed, and lowers
/// `max_connections` to what that limit holds, saying so.
fn max_connections_within_fd_limit(wanted: usize) -> usize {
    let soft = match fd_limit::raise_to_hard_limit() {
        Ok(soft) => soft,
        Err(e) => {
            log::warn!("could not read or raise the open-files limit: {e}");
            return wanted;
        }
    };
    let fits = soft.saturating_sub(FDS_KEPT_FOR_THE_REST) / http::FDS_PER_CONNECTION as u64;
    let fits = usize::try_from(fits).unwrap_or(usize::MAX).max(1);
    if fits < wanted {
        log::warn!(
            "server.max_connections is {wanted} but the open-files limit ({soft}) holds only \
             {fits}; using {fits}. Raise the hard limit (ulimit -Hn, LimitNOFILE= in systemd, \
             procd's nofile limit on OpenWrt) to hold more"
        );
        return fits;
    }
    wanted
}

impl From<StartError> for Failure {
    fn from(e: StartError) -> Failure {
        match e {
            StartError::Config(message) => Failure::config(message),
            StartError::Runtime(message) => Failure::runtime(message),
        }
    }
}
