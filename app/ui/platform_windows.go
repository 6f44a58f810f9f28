package ui

// dataFolderHint is where the accounts are kept when COUNTERSIGN_HOME is
// not set (vault.DefaultDir), as people type it.
const dataFolderHint = `%APPDATA%\Countersign`
