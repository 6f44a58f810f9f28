package qr

// DecodeFileFrozen is DecodeFile on a clock that never advances, so that the
// corpus test finds what the decoder can find whatever the machine's speed
// (or the race detector's slowdown), instead of what fits in searchBudget.
func DecodeFileFrozen(path string) ([]Code, error) { return decodeFile(path, frozen) }
