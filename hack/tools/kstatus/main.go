// kstatus prints the kstatus verdict (sigs.k8s.io/cli-utils/pkg/kstatus/status.Compute, the library
// Flux's health checks and Helm 4's --wait use) of each Kubernetes object it reads.
//
//	kstatus [FILE...]     reads FILEs (or stdin when none, or "-"): JSON or YAML, one or more
//	                      documents, single objects or Lists (e.g. `kubectl get KIND -o json`)
//
// It prints one line per object: `NAME STATUS MESSAGE`, where STATUS is Current, InProgress,
// Failed, Terminating, NotFound or Unknown. It exits 1 when an input cannot be read or computed.
package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	utiljson "k8s.io/apimachinery/pkg/util/json"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/cli-utils/pkg/kstatus/status"
)

func main() {
	inputs := os.Args[1:]
	if len(inputs) == 0 {
		inputs = []string{"-"}
	}
	for _, in := range inputs {
		if in == "-h" || in == "--help" {
			fmt.Fprintln(os.Stderr, "usage: kstatus [FILE...]  (JSON or YAML objects or Lists; stdin when no FILE or -)")
			os.Exit(2)
		}
	}
	out := bufio.NewWriter(os.Stdout)
	failed := false
	for _, in := range inputs {
		if err := each(in, out); err != nil {
			fmt.Fprintf(os.Stderr, "kstatus: %s: %v\n", in, err)
			failed = true
		}
	}
	if err := out.Flush(); err != nil || failed {
		os.Exit(1)
	}
}

// each prints the verdict of every object in one input.
func each(path string, out io.Writer) error {
	var r io.Reader = os.Stdin
	if path != "-" {
		f, err := os.Open(path)
		if err != nil {
			return err
		}
		defer f.Close()
		r = f
	}
	dec := utilyaml.NewYAMLOrJSONDecoder(r, 4096)
	for {
		var raw json.RawMessage
		if err := dec.Decode(&raw); errors.Is(err, io.EOF) {
			return nil
		} else if err != nil {
			return err
		}
		if t := bytes.TrimSpace(raw); len(t) == 0 || bytes.Equal(t, []byte("null")) {
			continue // an empty YAML document
		}
		// apimachinery's json keeps integers int64 (status.Compute reads generations as such).
		var doc map[string]interface{}
		if err := utiljson.Unmarshal(raw, &doc); err != nil {
			return err
		}
		u := &unstructured.Unstructured{Object: doc}
		if u.IsList() {
			err := u.EachListItem(func(o runtime.Object) error {
				return report(o.(*unstructured.Unstructured), out)
			})
			if err != nil {
				return err
			}
			continue
		}
		if err := report(u, out); err != nil {
			return err
		}
	}
}

// report computes one object's status and prints its line.
func report(u *unstructured.Unstructured, out io.Writer) error {
	res, err := status.Compute(u)
	if err != nil {
		return fmt.Errorf("%s: %w", u.GetName(), err)
	}
	message := strings.Join(strings.Fields(res.Message), " ")
	_, err = fmt.Fprintf(out, "%s %s %s\n", u.GetName(), res.Status, message)
	return err
}
