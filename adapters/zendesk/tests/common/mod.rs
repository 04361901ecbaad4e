//! What the Zendesk test binaries share: an emulator with credentials in files.
#![allow(dead_code)]

use switchover_adapter::{Settings, Source};
use switchover_sandbox::EmulatorConfig;
use switchover_zendesk_emulator::ZendeskEmulator;

/// A running emulator and a folder holding its secrets.
pub struct Account {
    /// The emulator.
    pub emulator: ZendeskEmulator,
    dir: tempfile::TempDir,
}

impl Account {
    pub fn start(config: EmulatorConfig) -> Account {
        let account = Account::start_unchecked(config);
        let probe = account.settings(&account.emulator.api_token(), "probe");
        let source = switchover_zendesk::Zendesk::connect(&probe).expect("connect");
        if let Err(e) = source.check() {
            panic!("the Zendesk emulator refuses its own credentials on users/me: {e}");
        }
        account
    }

    /// An account whose credentials are not probed first (its faults may malform the
    /// probe's answer).
    pub fn start_unchecked(config: EmulatorConfig) -> Account {
        let emulator = ZendeskEmulator::start(config).expect("start the Zendesk emulator");
        let dir = tempfile::tempdir().expect("temp dir");
        Account { emulator, dir }
    }

    pub fn settings(&self, token: &str, name: &str) -> Settings {
        let file = self.dir.path().join(name);
        std::fs::write(&file, format!("{token}\n")).expect("write token file");
        Settings::new("zendesk", Default::default())
            .with("url", self.emulator.base_url())
            .with("email", self.emulator.email())
            .with("api_token", format!("file:{}", file.display()))
    }

    pub fn good(&self) -> Settings {
        self.settings(&self.emulator.api_token(), "token")
    }

    pub fn bad(&self) -> Settings {
        self.settings("not-the-token", "bad-token")
    }

    pub fn oauth(&self, token: &str) -> Settings {
        let file = self.dir.path().join("oauth");
        std::fs::write(&file, token).expect("write oauth file");
        Settings::new("zendesk", Default::default())
            .with("url", self.emulator.base_url())
            .with("oauth_token", format!("file:{}", file.display()))
    }
}
