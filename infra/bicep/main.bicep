// A complete beehive environment on Azure Container Apps: Service Bus with the actors'
// topology, Storage for the stores, Log Analytics, managed identities with their roles, and the
// actor host app scaled by KEDA on the subscriptions' backlogs.
//
// The topology parameters come from the code, so they never drift:
//   beehive topology samples.prismo --format bicep --output infra/bicep/prismo.parameters.json
//   az deployment group create -g RG -f infra/bicep/main.bicep \
//     -p infra/bicep/prismo.parameters.json -p image=REGISTRY/beehive:TAG modules=samples.prismo

targetScope = 'resourceGroup'

@description('Azure region; the resource group\'s by default.')
param location string = resourceGroup().location

@description('Prefix of every resource name: lower-case letters and digits.')
@minLength(3)
@maxLength(12)
param name string = 'beehive'

@description('Service Bus SKU: Standard, or Premium.')
@allowed([
  'Standard'
  'Premium'
])
param serviceBusSku string = 'Standard'

@description('Storage replication (Standard_GRS by default).')
param storageSku string = 'Standard_GRS'

@description('Allow Storage account keys; off, so only Entra ID tokens work.')
param allowSharedKeyAccess bool = false

@description('Topic names (generated).')
param topics array

@description('Subscriptions with their settings (generated).')
param subscriptions array

@description('Plain queues with their settings (generated).')
param queues array = []

@description('One KEDA scale rule per subscription or queue (generated).')
param scaleRules array

@description('Actor host image, for example myregistry.azurecr.io/beehive:1.0.')
param image string

@description('Azure Container Registry in this resource group holding the image; empty for a public image.')
param registryName string = ''

@description('Modules holding the actors (BEEHIVE_MODULES).')
param modules string

@description('Dependency-injector container, module:Name; empty for none.')
param container string = ''

@description('Fewest replicas (0: scale to zero).')
param minReplicas int = 0

@description('Most replicas.')
param maxReplicas int = 10

@description('Tags put on every resource.')
param tags object = {
  app: 'beehive'
}

var suffix = uniqueString(resourceGroup().id, name)

module identity 'modules/identity.bicep' = {
  name: '${name}-identity'
  params: {
    location: location
    name: name
    tags: tags
  }
}

module monitoring 'modules/monitoring.bicep' = {
  name: '${name}-monitoring'
  params: {
    location: location
    workspaceName: 'log-${name}-${suffix}'
    tags: tags
  }
}

module serviceBus 'modules/servicebus.bicep' = {
  name: '${name}-servicebus'
  params: {
    location: location
    namespaceName: 'sb-${name}-${suffix}'
    sku: serviceBusSku
    topics: topics
    subscriptions: subscriptions
    queues: queues
    appPrincipalId: identity.outputs.appPrincipalId
    scalerPrincipalId: identity.outputs.scalerPrincipalId
    tags: tags
  }
}

module storage 'modules/storage.bicep' = {
  name: '${name}-storage'
  params: {
    location: location
    accountName: take('st${name}${suffix}', 24)
    skuName: storageSku
    allowSharedKeyAccess: allowSharedKeyAccess
    appPrincipalId: identity.outputs.appPrincipalId
    tags: tags
  }
}

module actorHost 'modules/containerapp.bicep' = {
  name: '${name}-containerapp'
  params: {
    location: location
    name: name
    image: image
    registryName: registryName
    modules: modules
    container: container
    scaleRules: scaleRules
    minReplicas: minReplicas
    maxReplicas: maxReplicas
    workspaceName: monitoring.outputs.name
    appIdentityId: identity.outputs.appId
    appPrincipalId: identity.outputs.appPrincipalId
    appClientId: identity.outputs.appClientId
    scalerIdentityId: identity.outputs.scalerId
    serviceBusName: serviceBus.outputs.name
    serviceBusFqdn: serviceBus.outputs.fqdn
    blobEndpoint: storage.outputs.blobEndpoint
    tableEndpoint: storage.outputs.tableEndpoint
    tags: tags
  }
}

output serviceBusNamespace string = serviceBus.outputs.name
output serviceBusFqdn string = serviceBus.outputs.fqdn
output storageAccount string = storage.outputs.name
output blobEndpoint string = storage.outputs.blobEndpoint
output tableEndpoint string = storage.outputs.tableEndpoint
output appClientId string = identity.outputs.appClientId
output containerApp string = actorHost.outputs.appName
