// Command kubernetes-embed writes the two files
// ../pulumi-resource-kubernetes embeds, from the schema.json and
// terraform-mapping.json that the pulumi-kubernetes provider module ships:
//
//	kubernetes-embed -module-dir DIR -version 4.25.0 -out OUTDIR
//
// The schema gets the release's version (the engine reads it back from the
// provider and checks it against the SDK's); both are compacted. Every other
// field of the schema is passed through byte for byte.
package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
)

func main() {
	moduleDir := flag.String("module-dir", "", "directory of github.com/pulumi/pulumi-kubernetes/provider/v4 in the module cache")
	version := flag.String("version", "", "release version to write into the schema, e.g. 4.25.0")
	outDir := flag.String("out", ".", "directory to write schema-embed.json and terraform-mapping-embed.json to")
	flag.Parse()
	if *moduleDir == "" || *version == "" {
		fail(fmt.Errorf("-module-dir and -version are required"))
	}
	src := filepath.Join(*moduleDir, "cmd", "pulumi-resource-kubernetes")

	schema, err := versionedSchema(filepath.Join(src, "schema.json"), *version)
	if err != nil {
		fail(err)
	}
	mapping, err := compacted(filepath.Join(src, "terraform-mapping.json"))
	if err != nil {
		fail(err)
	}
	for name, data := range map[string][]byte{"schema-embed.json": schema, "terraform-mapping-embed.json": mapping} {
		if err := os.WriteFile(filepath.Join(*outDir, name), data, 0o644); err != nil {
			fail(err)
		}
	}
}

// versionedSchema reads the package schema at path and returns it compacted,
// with its top-level "version" set to version.
func versionedSchema(path, version string) ([]byte, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(raw, &fields); err != nil {
		return nil, fmt.Errorf("%s is not a JSON object: %w", path, err)
	}
	if _, ok := fields["name"]; !ok {
		return nil, fmt.Errorf("%s has no \"name\": not a Pulumi package schema", path)
	}
	v, err := json.Marshal(version)
	if err != nil {
		return nil, err
	}
	fields["version"] = v
	return json.Marshal(fields)
}

// compacted reads the JSON document at path and returns it without whitespace.
func compacted(path string) ([]byte, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var out bytes.Buffer
	if err := json.Compact(&out, raw); err != nil {
		return nil, fmt.Errorf("%s is not valid JSON: %w", path, err)
	}
	return out.Bytes(), nil
}

func fail(err error) {
	fmt.Fprintf(os.Stderr, "kubernetes-embed: %v\n", err)
	os.Exit(1)
}
