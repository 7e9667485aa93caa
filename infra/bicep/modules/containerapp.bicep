// The Container Apps environment and the app running the actor host image: health probes on
// the host's endpoint, and one KEDA azure-servicebus scale rule per subscription or queue,
// authenticated by the scaler's managed identity. No secret is set anywhere.

@description('Azure region.')
param location string

@description('Prefix of every resource name.')
param name string

@description('Actor host image, for example myregistry.azurecr.io/beehive:1.0.')
param image string

@description('Azure Container Registry in this resource group to pull from with the app identity; empty for a public image.')
param registryName string = ''

@description('Modules holding the actors (BEEHIVE_MODULES).')
param modules string

@description('Dependency-injector container, module:Name (BEEHIVE_CONTAINER); empty for none.')
param container string = ''

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

@description('Seconds in-flight messages get to finish on shutdown (BEEHIVE_GRACE).')
@minValue(0)
@maxValue(600)
param stopGraceSeconds int = 25

@description('vCPU per replica.')
param cpu string = '0.5'

@description('Memory per replica.')
param memory string = '1Gi'

@description('Port of the health and metrics endpoint (BEEHIVE_PORT).')
param port int = 8080

@description('Log Analytics workspace receiving the logs.')
param workspaceName string

@description('Resource id of the identity the actor host runs as.')
param appIdentityId string

@description('Principal id of the identity the actor host runs as (pulls the image).')
param appPrincipalId string

@description('Client id of the identity the actor host runs as (AZURE_CLIENT_ID).')
param appClientId string

@description('Resource id of the identity the scale rules authenticate with.')
param scalerIdentityId string

@description('Service Bus namespace name, for the scale rules.')
param serviceBusName string

@description('Service Bus namespace FQDN, for the actor host.')
param serviceBusFqdn string

@description('Storage endpoints handed to the actor host.')
param blobEndpoint string
param tableEndpoint string

@description('Tags put on every resource.')
param tags object = {}

var acrPull = '7f951dda-4ed3-4680-a7ca-43fe172d538d' // AcrPull

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

resource workspace 'Microsoft.OperationalInsights/workspaces@2023-09-01' existing = {
  name: workspaceName
}

resource registry 'Microsoft.ContainerRegistry/registries@2023-07-01' existing = if (!empty(registryName)) {
  name: empty(registryName) ? 'none' : registryName
}

resource pulls 'Microsoft.Authorization/roleAssignments@2022-04-01' = if (!empty(registryName)) {
  name: guid(resourceGroup().id, registryName, appPrincipalId, acrPull)
  scope: registry
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', acrPull)
    principalId: appPrincipalId
    principalType: 'ServicePrincipal'
  }
}

resource environment 'Microsoft.App/managedEnvironments@2025-01-01' = {
  name: 'cae-${name}'
  location: location
  tags: tags
  properties: {
    appLogsConfiguration: {
      destination: 'log-analytics'
      logAnalyticsConfiguration: {
        customerId: workspace.properties.customerId
        sharedKey: workspace.listKeys().primarySharedKey
      }
    }
  }
}

resource app 'Microsoft.App/containerApps@2025-01-01' = {
  name: 'ca-${name}'
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
    environmentId: environment.id
    configuration: {
      activeRevisionsMode: 'Single'
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
      terminationGracePeriodSeconds: stopGraceSeconds + 5
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
              periodSeconds: 2
              failureThreshold: 10
            }
            {
              type: 'Liveness'
              httpGet: {
                path: '/healthz'
                port: port
              }
              periodSeconds: 15
              failureThreshold: 3
            }
            {
              type: 'Readiness'
              httpGet: {
                path: '/readyz'
                port: port
              }
              periodSeconds: 5
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
  dependsOn: [
    pulls
  ]
}

output appName string = app.name
output environmentName string = environment.name
