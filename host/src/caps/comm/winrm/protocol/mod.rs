//! The WS-Management client that the WinRM session is built on.
