// Command nimbus is the whole Nimbus cloud in one binary; see `nimbus help`.
package main

import (
	"os"

	"github.com/nimbus-cloud/nimbus/internal/app"
)

func main() {
	os.Exit(app.Main(os.Args[1:], os.Stdout, os.Stderr))
}
