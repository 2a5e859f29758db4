package garbagecollector_test

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"runtime/pprof"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	apiextensionsclient "k8s.io/apiextensions-apiserver/pkg/client/clientset/clientset"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/metadata"
	"k8s.io/client-go/rest"

	"github.com/skiffhq/skiff/internal/controller"
	"github.com/skiffhq/skiff/internal/controller/controllertest"
	"github.com/skiffhq/skiff/internal/controller/garbagecollector"
	"github.com/skiffhq/skiff/internal/testutil/testserver"
)

// gcLabel marks, through pprof labels (which every goroutine inherits from
// the one that starts it), the goroutines a collector under test started.
const gcLabel = "gc-under-test"

// TestStopsEverythingOnCancel runs collectors that watch a custom resource
// appearing and going away while they run, cancels each at a different
// point (still discovering, just started, busy), and checks that Run
// returns and that not one goroutine the collector started (monitors,
// their reflectors and watches, workers) outlives it.
func TestStopsEverythingOnCancel(t *testing.T) {
	s := testserver.Start(t, nil)
	meta, err := metadata.NewForConfig(s.Config)
	if err != nil {
		t.Fatal(err)
	}
	cc := &controller.Context{
		Client: s.Client, Metadata: meta, Discovery: s.Client.Discovery(),
		Workers: 2, Log: slog.New(slog.DiscardHandler),
	}
	ns := "gc-shutdown"
	if _, err := s.Client.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	crds := apiextensionsclient.NewForConfigOrDie(s.Config).ApiextensionsV1().CustomResourceDefinitions()

	for round := range 4 {
		id := fmt.Sprint(round)
		stop := runLabelled(t, cc, id)
		if round > 0 {
			// Working: it collects a dependent whose owner never existed.
			ghost := metav1.OwnerReference{APIVersion: "v1", Kind: "ConfigMap", Name: "ghost", UID: types.UID("00000000-0000-0000-0000-00000000000" + id)}
			if _, err := s.Client.CoreV1().ConfigMaps(ns).Create(ctx, configMap(ns, "dep-"+id, ghost), metav1.CreateOptions{}); err != nil {
				t.Fatal(err)
			}
			gone(t, "dep-"+id, func() error {
				_, err := s.Client.CoreV1().ConfigMaps(ns).Get(ctx, "dep-"+id, metav1.GetOptions{})
				return err
			})
		}
		if round > 1 {
			// A resource is added and removed while it runs: its monitor
			// is started and stopped by rediscovery, maybe at the cancel.
			crd := widgetCRD("w" + id)
			if _, err := crds.Create(ctx, crd, metav1.CreateOptions{}); err != nil {
				t.Fatal(err)
			}
			if round == 3 {
				if err := crds.Delete(ctx, crd.Name, metav1.DeleteOptions{}); err != nil {
					t.Fatal(err)
				}
			}
		}
		stop()
	}
}

// TestStopsWithListInFlight cancels a collector while the server has not
// answered a monitor's list yet (held here until the request is given up):
// the request must be abandoned and every goroutine end, however long the
// server would take.
func TestStopsWithListInFlight(t *testing.T) {
	s := testserver.Start(t, nil)
	cfg := rest.CopyConfig(s.Config)
	held := make(chan struct{}, 1)
	cfg.Wrap(func(rt http.RoundTripper) http.RoundTripper {
		return roundTripFunc(func(req *http.Request) (*http.Response, error) {
			if req.Method == http.MethodGet && req.URL.Path == "/api/v1/secrets" {
				select {
				case held <- struct{}{}:
				default:
				}
				<-req.Context().Done()
				return nil, req.Context().Err()
			}
			return rt.RoundTrip(req)
		})
	})
	meta, err := metadata.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	cc := &controller.Context{
		Client: s.Client, Metadata: meta, Discovery: s.Client.Discovery(),
		Workers: 2, Log: slog.New(slog.DiscardHandler),
	}
	stop := runLabelled(t, cc, "held")
	select {
	case <-held:
	case <-time.After(controllertest.Timeout):
		t.Fatal("the secrets monitor never listed")
	}
	stop()
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(req *http.Request) (*http.Response, error) { return f(req) }

// runLabelled runs a collector whose goroutines carry the label id and
// returns a function that cancels it and checks that Run returns and that
// none of those goroutines is left.
func runLabelled(t *testing.T, cc *controller.Context, id string) func() {
	t.Helper()
	runCtx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	gc := garbagecollector.New(cc, garbagecollector.Config{DiscoveryPeriod: 20 * time.Millisecond})
	pprof.Do(runCtx, pprof.Labels(gcLabel, id), func(runCtx context.Context) {
		go func() { done <- gc.Run(runCtx) }()
	})
	return func() {
		t.Helper()
		if labelled(id) == "" {
			t.Fatalf("%s: no goroutine of the running collector found", id)
		}
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("%s: Run: %v", id, err)
			}
		case <-time.After(controllertest.Timeout):
			t.Fatalf("%s: Run did not return after cancel; goroutines:\n%s", id, labelled(id))
		}
		// Run has returned; watch streams it closed may take a moment to
		// notice.
		controllertest.Eventually(t, "collector goroutines gone", func() (bool, error) {
			left := labelled(id)
			return left == "", fmt.Errorf("%s: still running:\n%s", id, left)
		})
	}
}

// labelled returns the goroutine groups labelled as round id's collector,
// leaving out the HTTP transport's idle connections (they belong to the
// shared client, not to the collector).
func labelled(id string) string {
	var buf bytes.Buffer
	_ = pprof.Lookup("goroutine").WriteTo(&buf, 1)
	want := fmt.Sprintf("%q:%q", gcLabel, id)
	var out []string
	for _, group := range strings.Split(buf.String(), "\n\n") {
		if !strings.Contains(group, want) {
			continue
		}
		if !strings.Contains(group, "k8s.io/") && !strings.Contains(group, "skiffhq/skiff") {
			continue // net/http persistConn loops, http2 client conns
		}
		out = append(out, group)
	}
	return strings.Join(out, "\n\n")
}

// widgetCRD is a namespaced custom resource <plural>.gc.example.com.
func widgetCRD(plural string) *apiextensionsv1.CustomResourceDefinition {
	return &apiextensionsv1.CustomResourceDefinition{
		ObjectMeta: metav1.ObjectMeta{Name: plural + ".gc.example.com"},
		Spec: apiextensionsv1.CustomResourceDefinitionSpec{
			Group: "gc.example.com", Scope: apiextensionsv1.NamespaceScoped,
			Names: apiextensionsv1.CustomResourceDefinitionNames{
				Plural: plural, Singular: plural, Kind: strings.ToUpper(plural[:1]) + plural[1:], ListKind: strings.ToUpper(plural[:1]) + plural[1:] + "List",
			},
			Versions: []apiextensionsv1.CustomResourceDefinitionVersion{{
				Name: "v1", Served: true, Storage: true,
				Schema: &apiextensionsv1.CustomResourceValidation{OpenAPIV3Schema: &apiextensionsv1.JSONSchemaProps{
					Type: "object", XPreserveUnknownFields: ptrTrue(),
				}},
			}},
		},
	}
}

func ptrTrue() *bool { b := true; return &b }
