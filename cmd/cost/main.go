// Command cost prints what trailguard costs one account and region a month, computed from the synthesized
// templates and modelled traffic (internal/dev/cost), and with -write puts that table into docs/organizations.md.
// It fails when a template declares a resource the model does not price.
package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"

	"github.com/trailguard/trailguard/internal/dev/cost"
	"github.com/trailguard/trailguard/internal/dev/testbed"
)

func main() {
	write := flag.Bool("write", false, "also put the table into docs/organizations.md")
	flag.Parse()
	root, err := testbed.ModuleRoot()
	if err != nil {
		fmt.Fprintln(os.Stderr, "cost:", err)
		os.Exit(1)
	}
	table, err := cost.Table(root)
	if err != nil {
		fmt.Fprintln(os.Stderr, "cost:", err)
		os.Exit(1)
	}
	os.Stdout.Write(table)
	if *write {
		doc := filepath.Join(root, "docs", "organizations.md")
		if err := cost.UpdateFile(doc, table); err != nil {
			fmt.Fprintln(os.Stderr, "cost:", err)
			os.Exit(1)
		}
		fmt.Fprintln(os.Stderr, "wrote", doc)
	}
}
