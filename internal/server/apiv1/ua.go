package apiv1

import "github.com/countersign/countersign/internal/uainfo"

// describeUA names the browser (with its major version) and the operating
// system of a User-Agent, as the devices list shows them: "Chrome 131",
// "Linux". Unknown parts are "".
func describeUA(s string) (browser, os string) {
	info := uainfo.Parse(s)
	return info.Browser, info.OS
}
