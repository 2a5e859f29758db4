package nodeapi

import (
	"time"

	nodev1 "k8s.io/api/node/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/skiffhq/skiff/internal/apiserver/registry"
)

var runtimeClassTable = registry.NewTable([]metav1.TableColumnDefinition{
	{Name: "Handler", Type: "string", Description: nodev1.RuntimeClass{}.SwaggerDoc()["handler"]},
	registry.AgeColumn,
}, func(rc *nodev1.RuntimeClass, now time.Time) []interface{} {
	return []interface{}{rc.Handler, registry.Age(rc.CreationTimestamp, now)}
})
