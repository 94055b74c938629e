// Command etcd is the etcd server of go.etcd.io/etcd/server/v3, built at the
// release pinned in ../../go.mod. Upstream's main package, in the etcd
// repository's root module, only hands os.Args to etcdmain.Main; doing the
// same here needs nothing beyond the server module.
package main

import (
	"os"

	"go.etcd.io/etcd/server/v3/etcdmain"
)

func main() {
	etcdmain.Main(os.Args)
}
