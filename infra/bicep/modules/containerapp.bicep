// One container app running the actor host image for a group of actors (BEEHIVE_ONLY): health
// probes on the host's endpoint, and one KEDA azure-servicebus scale rule per subscription or
// queue its actors read, authenticated by the scaler's managed identity. The scaler's identity
// is attached for the scale rules only: code in the container cannot get a token for it. No
// secret is set anywhere.

@description('Azure region.')
param location string

@description('Container app name: 2 to 32 lower-case letters, digits and \'-\'.')
@minLength(2)
@maxLength(32)
param appName string

@description('Resource id of the Container Apps environment.')
param environmentId string

@description('Actor host image, for example myregistry.azurecr.io/beehive:1.0.')
param image string

@description('Azure Container Registry in this resource group to pull from with the app identity; empty for a public image.')
param registryName string = ''

@description('Modules holding the actors (BEEHIVE_MODULES).')
param modules string

@description('Dependency-injector container, module:Name (BEEHIVE_CONTAINER); empty for none.')
param container string = ''

@description('TOML file of per-actor settings (BEEHIVE_CONFIG), relative to the image\'s /app; empty for none.')
param config string = ''

@description('Actors this app runs only (BEEHIVE_ONLY), comma-separated; empty for all.')
param only string = ''

@description('Actors this app leaves out (BEEHIVE_EXCEPT), comma-separated.')
param except string = ''

@description('Scale rules from `beehive topology --format bicep`: name and KEDA metadata.')
param scaleRules array

@description('Fewest replicas; 0 lets the app scale to zero when the queues are empty.')
@minValue(0)
param minReplicas int = 0

@description('Most replicas.')
@minValue(1)
param maxReplicas int = 10

// Shutdown: on SIGTERM the host stops taking messages and gives those in flight
// stopGraceSeconds (BEEHIVE_GRACE) to finish, then closes its links; Container Apps sends
// SIGKILL terminationGracePeriodSeconds after SIGTERM. So terminationGracePeriodSeconds =
// stopGraceSeconds + closeSeconds, the margin for closing links and flushing logs.
@description('Seconds in-flight messages get to finish on shutdown (BEEHIVE_GRACE).')
@minValue(0)
@maxValue(590)
param stopGraceSeconds int = 25

@description('Seconds after the grace period for closing links before SIGKILL.')
@minValue(5)
param closeSeconds int = 5

@description('vCPU per replica.')
param cpu string = '0.5'

@description('Memory per replica.')
param memory string = '1Gi'

@description('Port of the health and metrics endpoint (BEEHIVE_PORT).')
param port int = 8080

@description('Resource id of the identity the actor host runs as.')
param appIdentityId string

@description('Client id of the identity the actor host runs as (AZURE_CLIENT_ID).')
param appClientId string

@description('Resource id of the identity the scale rules authenticate with.')
param scalerIdentityId string

@description('Service Bus namespace name, for the scale rules.')
param serviceBusName string

@description('Service Bus namespace FQDN, for the actor host.')
param serviceBusFqdn string

@description('Blob endpoint of the storage account (BEEHIVE_STORAGE_BLOB_ENDPOINT), for the application container\'s key-value and lock stores; beehive itself reads no blob setting.')
param blobEndpoint string

@description('Table endpoint of the storage account (BEEHIVE_STORAGE_TABLE_ENDPOINT), for the application container\'s collections, keyed lists and counters, and beehive\'s journal.')
param tableEndpoint string

@description('Tags put on every resource.')
param tags object = {}

// Probes sized for a cold start on 0.5 vCPU: importing the SDKs and the actors takes several
// seconds at half a core before /healthz answers, and a busy start can be slow to answer, so
// each probe waits timeoutSeconds (not the default 1 s). The startup probe allows
// initialDelaySeconds + periodSeconds * failureThreshold = 10 + 10 * 10 = 110 s before the
// replica is restarted (Container Apps allows at most 60 s of initial delay and 10 failures).
var probeTimeoutSeconds = 5

var settings = [
  {
    name: 'BEEHIVE_MODULES'
    value: modules
  }
  {
    name: 'BEEHIVE_CONTAINER'
    value: container
  }
  {
    name: 'BEEHIVE_CONFIG'
    value: config
  }
  {
    name: 'BEEHIVE_ONLY'
    value: only
  }
  {
    name: 'BEEHIVE_EXCEPT'
    value: except
  }
  {
    name: 'BEEHIVE_BACKEND'
    value: 'servicebus'
  }
  {
    name: 'BEEHIVE_SERVICEBUS_NAMESPACE'
    value: serviceBusFqdn
  }
  {
    // The host holds Data Sender + Data Receiver only, so it cannot read subscription rules;
    // servicebus.bicep gives every subscription the replay filter, so replays may trust it.
    name: 'BEEHIVE_SERVICEBUS_REPLAY_FILTERS'
    value: 'trust'
  }
  {
    name: 'BEEHIVE_STORAGE_BLOB_ENDPOINT'
    value: blobEndpoint
  }
  {
    name: 'BEEHIVE_STORAGE_TABLE_ENDPOINT'
    value: tableEndpoint
  }
  {
    name: 'BEEHIVE_PORT'
    value: string(port)
  }
  {
    name: 'BEEHIVE_GRACE'
    value: string(stopGraceSeconds)
  }
  {
    name: 'BEEHIVE_LOG_FORMAT'
    value: 'json'
  }
  {
    name: 'AZURE_CLIENT_ID'
    value: appClientId
  }
]

resource app 'Microsoft.App/containerApps@2025-01-01' = {
  name: appName
  location: location
  tags: tags
  identity: {
    type: 'UserAssigned'
    userAssignedIdentities: {
      '${appIdentityId}': {}
      '${scalerIdentityId}': {}
    }
  }
  properties: {
    environmentId: environmentId
    configuration: {
      activeRevisionsMode: 'Single'
      // The host's identity in the container only; the scaler's (Service Bus Data Owner: it
      // may create, delete and purge entities) for the scale rules only, never the container.
      identitySettings: [
        {
          identity: appIdentityId
          lifecycle: 'Main'
        }
        {
          identity: scalerIdentityId
          lifecycle: 'None'
        }
      ]
      // No ingress: the actor host takes its work from Service Bus; probes reach the port
      // inside the replica.
      registries: empty(registryName) ? [] : [
        {
          server: '${registryName}.azurecr.io'
          identity: appIdentityId
        }
      ]
    }
    template: {
      terminationGracePeriodSeconds: stopGraceSeconds + closeSeconds
      containers: [
        {
          name: 'actor-host'
          image: image
          env: settings
          resources: {
            cpu: json(cpu)
            memory: memory
          }
          probes: [
            {
              type: 'Startup'
              httpGet: {
                path: '/healthz'
                port: port
              }
              initialDelaySeconds: 10
              periodSeconds: 10
              timeoutSeconds: probeTimeoutSeconds
              failureThreshold: 10
            }
            {
              type: 'Liveness'
              httpGet: {
                path: '/healthz'
                port: port
              }
              periodSeconds: 15
              timeoutSeconds: probeTimeoutSeconds
              failureThreshold: 3
            }
            {
              type: 'Readiness'
              httpGet: {
                path: '/readyz'
                port: port
              }
              periodSeconds: 5
              timeoutSeconds: probeTimeoutSeconds
              failureThreshold: 3
            }
          ]
        }
      ]
      scale: {
        minReplicas: minReplicas
        maxReplicas: maxReplicas
        rules: [
          for rule in scaleRules: {
            name: rule.name
            custom: {
              type: 'azure-servicebus'
              identity: scalerIdentityId
              metadata: union(rule.metadata, {
                namespace: serviceBusName
              })
            }
          }
        ]
      }
    }
  }
}

output appName string = app.name
